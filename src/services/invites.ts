import { randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { recordAudit, recordAudits } from './audit-log.js';
import { canAdminister, findMember, lockAsAdmin, usableAdminSql, usableInvite } from './checks.js';
import { coalescedRows, type Db, inTransaction } from './db.js';
import { isInstalled } from './installations.js';
import { JOB, type Jobs, type LaterJob, queueAll } from './jobs.js';
import type { RegistrationLinks } from './registration-links.js';
import { type Row, toAccount, toInvite } from './rows.js';
import {
  type Account,
  type Actor,
  type Invite,
  type InviteState,
  type Refused,
  type RevokeReason,
  refuse,
} from './types.js';

// Easy to read back and type: no 0/o, 1/l.
const ID_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const ID_LENGTH = 10;

export function newInviteId(): string {
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

export function inviteState(invite: Invite, now: Date): InviteState {
  if (invite.revokedAt) return 'revoked';
  if (invite.maxUses !== null && invite.uses >= invite.maxUses) return 'used';
  if (invite.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'pending';
}

/** What a person is told of a link that ended before its time, by why it ended. */
const REVOKED_AS: Record<RevokeReason, InviteRefusal | 'inviter_cannot_invite' | 'not_in_workspace'> = {
  revoked: 'invite_revoked',
  replaced: 'invite_replaced',
  inviter_removed: 'inviter_cannot_invite',
  inviter_demoted: 'inviter_cannot_invite',
  invitee_removed: 'invite_revoked',
  invitee_deactivated: 'not_in_workspace',
};

/** Why an invite cannot be used, as a refusal the pages and commands can show. */
export function refusalFor(invite: Invite, now: Date): Refused<LinkRefusal> | undefined {
  switch (inviteState(invite, now)) {
    case 'revoked':
      return refuse(REVOKED_AS[invite.revokeReason ?? 'revoked']);
    case 'used':
      return refuse('invite_used');
    case 'expired':
      return refuse('invite_expired');
    default:
      return undefined;
  }
}

export type InviteRefusal = 'invite_unknown' | 'invite_expired' | 'invite_revoked' | 'invite_replaced' | 'invite_used';

/** Why a link does not work now: its own state, or the authority behind it. */
export type LinkRefusal = InviteRefusal | 'inviter_cannot_invite' | 'app_not_installed' | 'not_in_workspace';

/** The rolling window the invitation caps count over. */
export const INVITE_WINDOW_MS = 86_400_000;
/** At most this many invitations of one person in the window, by anyone. */
export const INVITES_PER_PERSON_PER_DAY = 5;

/** An invitation refused by a cap: whose (the admin's own, or the invitee's), and when it frees up. */
export type InviteCapReached = {
  ok: false;
  reason: 'invite_limit' | 'invitee_invite_limit';
  limit: number;
  resetsAt: Date;
};

/** When the invitations made (`created_by`) or received (`for_slack_user_id`) in the window were made, oldest first. */
async function invitedRecently(db: Db, accountId: number, whose: Record<string, string>, now: Date): Promise<Date[]> {
  const since = new Date(now.getTime() - INVITE_WINDOW_MS);
  const query = db('invites')
    .where({ account_id: accountId, ...whose })
    .where('created_at', '>', since)
    .orderBy('created_at');
  // An admin's count: each invitation of a channel or group once (when it started), not per person.
  if (whose.created_by) query.whereNull('bulk_id');
  const times: Array<Date | string> = await query.pluck('created_at');
  if (whose.created_by) {
    const bulks: Array<Date | string> = await db('bulk_invitations')
      .where({ account_id: accountId, created_by: whose.created_by })
      .where('started_at', '>', since)
      .pluck('started_at');
    times.push(...bulks);
  }
  return times.map((t) => new Date(t)).sort((a, b) => a.getTime() - b.getTime());
}

/**
 * When a rolling window holding `times` (oldest first) has room again under `limit`; undefined
 * while it has room now.
 */
function freedAt(times: Date[], limit: number): Date | undefined {
  if (times.length < limit) return undefined;
  return new Date((times[times.length - limit] as Date).getTime() + INVITE_WINDOW_MS);
}

export interface CreatedInvite {
  invite: Invite;
  token: string;
  /** Its page; null when the app serves no pages (Socket Mode without PUBLIC_URL). */
  url: string | null;
  /** The earlier pending invite of the same person that this one replaced. */
  replaced: string | null;
}

export interface InviteDetails {
  invite: Invite;
  account: Account;
  /** The inviting admin's stored name, when known. */
  inviterName: string | null;
}

/** A refused link still tells a legitimate holder whose it was, to ask them again. */
export type Inspection = ({ ok: true } & InviteDetails) | (Refused<LinkRefusal> & { details?: InviteDetails });

/**
 * The authority a link carries, checked whenever it is used (not only when it was made): its
 * maker can still act as an AccountAdmin, and (multi-workspace mode) the app is installed in
 * its workspace now.
 */
export async function linkAuthority(
  db: Db,
  invite: Invite,
  account: Account,
  multiWorkspace: boolean,
  /** Read already (with the invite, in the same statement): whether its inviter can invite now. */
  inviterCanInvite?: boolean,
): Promise<Refused<LinkRefusal> | undefined> {
  const canInvite = inviterCanInvite ?? (await canAdminister(db, invite.accountId, invite.createdBy));
  if (!canInvite) return refuse('inviter_cannot_invite');
  if (multiWorkspace && !(await isInstalled(db, account))) return refuse('app_not_installed');
  return undefined;
}

// What a registration page shows: the invite, its account and the inviting admin's name.
// Whether the inviter can invite now (an active AccountAdmin not deactivated in Slack, as
// canAdminister asks) comes in the same read: a page view is one round trip fewer.
// The invites asked for in one turn of the event loop (`coalescedRows`: a page view read its
// invite in a round trip of its own), each with its account and what its maker can still do.
const INVITE_DETAILS = `SELECT asked.n, i.*, row_to_json(a.*) AS account, inviter.display_name AS inviter_name,
    coalesce(${usableAdminSql('inviter')}, false) AS inviter_can_invite
  FROM unnest($1::text[]) WITH ORDINALITY AS asked(id, n)
  JOIN invites i ON i.id = asked.id
  JOIN accounts a ON a.id = i.account_id
  LEFT JOIN members inviter ON inviter.account_id = i.account_id AND inviter.slack_user_id = i.created_by`;

export class InviteService {
  private readonly details: (inviteId: string) => Promise<Row | undefined>;

  constructor(
    private readonly deps: {
      knex: Knex;
      links: RegistrationLinks;
      now: () => Date;
      ttlSeconds: number;
      /** Invitations one admin may make in 24 hours (0: no limit). */
      inviteLimitPerDay: number;
      /** Multi-workspace mode: a link works only while the app is installed in its workspace. */
      multiWorkspace: boolean;
      jobs: Jobs;
      /** How long before a personal link expires its person is reminded; null: never. */
      reminderBeforeSeconds: number | null;
    },
  ) {
    this.details = coalescedRows(deps.knex, 'invite_details', INVITE_DETAILS, (ids) => [ids]);
  }

  /**
   * A registration invite granting AccountUser: bound to one Slack user (single use; it
   * replaces that person's pending invite) or, with no one named, a link for anyone.
   */
  async create(
    actor: Actor,
    options: {
      forSlackUserId?: string | null;
      forDisplayName?: string | null;
      ttlSeconds?: number;
      maxUses?: number | null;
      /** Made by this bulk invitation: it counted once against the admin's cap when it started. */
      bulkId?: number;
    } = {},
  ): Promise<
    ({ ok: true } & CreatedInvite) | Refused<'not_member' | 'not_admin' | 'already_member'> | InviteCapReached
  > {
    const forSlackUserId = options.forSlackUserId ?? null;
    const result = await inTransaction(this.deps.knex, async (trx) => {
      // The account's lock also makes the caps exact across processes: counts are read and the
      // invite written with no other invitation of the account in between.
      const admin = await lockAsAdmin(trx, actor);
      if (!admin.ok) return admin;
      const now = this.deps.now();
      if (forSlackUserId) {
        const existing = await findMember(trx, actor.accountId, forSlackUserId);
        if (existing?.status === 'active') return refuse('already_member');
      }
      const capped = await this.capReached(trx, actor, forSlackUserId, now, options.bulkId !== undefined);
      if (capped) return capped;
      let replaced: string | null = null;
      if (forSlackUserId) {
        const [old] = await trx('invites')
          .where({ account_id: actor.accountId, for_slack_user_id: forSlackUserId, uses: 0 })
          .whereNull('revoked_at')
          .update({ revoked_at: now, revoked_by: actor.slackUserId, revoke_reason: 'replaced' })
          .returning('id');
        replaced = (old as { id: string } | undefined)?.id ?? null;
        if (replaced) await this.deps.jobs.later(trx, JOB.invitationDm, { inviteId: replaced });
      }
      const ttl = options.ttlSeconds ?? this.deps.ttlSeconds;
      const [row] = await trx('invites')
        .insert({
          id: newInviteId(),
          account_id: actor.accountId,
          created_by: actor.slackUserId,
          for_slack_user_id: forSlackUserId,
          for_display_name: forSlackUserId ? (options.forDisplayName ?? null) : null,
          role: 'AccountUser',
          created_at: now,
          expires_at: new Date(now.getTime() + ttl * 1000),
          max_uses: forSlackUserId ? 1 : (options.maxUses ?? null),
          uses: 0,
          bulk_id: options.bulkId ?? null,
        })
        .returning('*');
      const invite = toInvite(row);
      // A personal invitation's DM says it expired, when it does (unless something came first).
      if (forSlackUserId) {
        // A second after it: the queue's clock (the database's) and the app's may differ a little.
        const expiry = new Date(invite.expiresAt.getTime() + 1_000);
        await this.deps.jobs.later(trx, JOB.invitationDm, { inviteId: invite.id }, expiry);
        // A reminder, unless the link's whole life is shorter than the warning.
        const before = this.deps.reminderBeforeSeconds;
        if (before !== null && ttl > before) {
          const at = new Date(invite.expiresAt.getTime() - before * 1000);
          await this.deps.jobs.later(trx, JOB.invitationReminder, { inviteId: invite.id }, at);
        }
      }
      await recordAudit(trx, {
        accountId: actor.accountId,
        actor: actor.slackUserId,
        action: 'invite.created',
        source: actor.source,
        targetSlackUserId: forSlackUserId,
        targetInviteId: invite.id,
        before: replaced ? { replacedInvite: replaced } : null,
        after: { expiresAt: invite.expiresAt.toISOString(), maxUses: invite.maxUses, role: invite.role },
        at: now,
      });
      return { ok: true as const, invite, replaced };
    });
    if (!result.ok) return result;
    const token = await this.deps.links.sign(result.invite);
    return { ok: true, invite: result.invite, replaced: result.replaced, token, url: this.deps.links.url(token) };
  }

  /**
   * A bulk invitation's invites for a batch of people, in one transaction under one account lock
   * (its admin's check, once): as `create` makes each, with one statement for the invites and one
   * for their audit entries (their expiry and reminder jobs are queued one by one). People who
   * joined meanwhile, were invited since, or were invited too often today get their reason instead.
   */
  async createForBulk(
    actor: Actor,
    people: ReadonlyArray<{ slackUserId: string; displayName: string | null }>,
    bulkId: number,
  ): Promise<
    | {
        ok: true;
        invites: Map<string, Invite>;
        refused: Map<string, 'already_member' | 'invitee_invite_limit' | 'already_invited'>;
      }
    | Refused<'not_member' | 'not_admin'>
  > {
    return inTransaction(this.deps.knex, async (trx) => {
      const admin = await lockAsAdmin(trx, actor);
      if (!admin.ok) return admin;
      const now = this.deps.now();
      const ids = people.map((p) => p.slackUserId);
      const refused = new Map<string, 'already_member' | 'invitee_invite_limit' | 'already_invited'>();
      const members: string[] = await trx('members')
        .where({ account_id: actor.accountId, status: 'active' })
        .whereIn('slack_user_id', ids)
        .pluck('slack_user_id');
      for (const id of members) refused.set(id, 'already_member');
      const counts = (await trx('invites')
        .where({ account_id: actor.accountId })
        .whereIn('for_slack_user_id', ids)
        .where('created_at', '>', new Date(now.getTime() - INVITE_WINDOW_MS))
        .groupBy('for_slack_user_id')
        .select('for_slack_user_id')
        .count({ n: '*' })) as Array<{ for_slack_user_id: string; n: string | number }>;
      for (const c of counts)
        if (Number(c.n) >= INVITES_PER_PERSON_PER_DAY && !refused.has(c.for_slack_user_id))
          refused.set(c.for_slack_user_id, 'invitee_invite_limit');
      // Invited since the counting (by name, or by another invitation of a channel): that invite
      // stands; nobody gets a second DM for it.
      const invited: string[] = await trx('invites as i')
        .where('i.account_id', actor.accountId)
        .whereIn('i.for_slack_user_id', ids)
        .whereRaw(usableInvite('i', '?'), [now])
        .pluck('i.for_slack_user_id');
      for (const id of invited) if (!refused.has(id)) refused.set(id, 'already_invited');
      const invitees = people.filter((p) => !refused.has(p.slackUserId));
      const invites = new Map<string, Invite>();
      if (invitees.length === 0) return { ok: true as const, invites, refused };
      const later: LaterJob[] = [];
      const replaced = (await trx('invites')
        .where({ account_id: actor.accountId, uses: 0 })
        .whereIn(
          'for_slack_user_id',
          invitees.map((p) => p.slackUserId),
        )
        .whereNull('revoked_at')
        .update({ revoked_at: now, revoked_by: actor.slackUserId, revoke_reason: 'replaced' })
        .returning(['id', 'for_slack_user_id'])) as Array<{ id: string; for_slack_user_id: string }>;
      for (const old of replaced) later.push({ name: JOB.invitationDm, data: { inviteId: old.id } });
      const ttl = this.deps.ttlSeconds;
      const rows = await trx('invites')
        .insert(
          invitees.map((p) => ({
            id: newInviteId(),
            account_id: actor.accountId,
            created_by: actor.slackUserId,
            for_slack_user_id: p.slackUserId,
            for_display_name: p.displayName,
            role: 'AccountUser',
            created_at: now,
            expires_at: new Date(now.getTime() + ttl * 1000),
            max_uses: 1,
            uses: 0,
            bulk_id: bulkId,
          })),
        )
        .returning('*');
      const before = this.deps.reminderBeforeSeconds;
      const audits = [];
      for (const row of rows) {
        const invite = toInvite(row);
        invites.set(invite.forSlackUserId as string, invite);
        later.push({
          name: JOB.invitationDm,
          data: { inviteId: invite.id },
          startAfter: new Date(invite.expiresAt.getTime() + 1_000),
        });
        if (before !== null && ttl > before) {
          later.push({
            name: JOB.invitationReminder,
            data: { inviteId: invite.id },
            startAfter: new Date(invite.expiresAt.getTime() - before * 1000),
          });
        }
        const old = replaced.find((r) => r.for_slack_user_id === invite.forSlackUserId);
        audits.push({
          accountId: actor.accountId,
          actor: actor.slackUserId,
          action: 'invite.created' as const,
          source: actor.source,
          targetSlackUserId: invite.forSlackUserId,
          targetInviteId: invite.id,
          before: old ? { replacedInvite: old.id } : null,
          after: {
            expiresAt: invite.expiresAt.toISOString(),
            maxUses: invite.maxUses,
            role: invite.role,
            bulk: bulkId,
          },
          at: now,
        });
      }
      await queueAll(this.deps.jobs, trx, later);
      await recordAudits(trx, audits);
      // Each invite is kept with its person in the same transaction: a retry, after a crash too,
      // uses the same one.
      const pairs = [...invites].map(([slackUserId, invite]) => ({ slackUserId, inviteId: invite.id }));
      await trx.raw(
        `UPDATE bulk_invitees b SET invite_id = v."inviteId"
         FROM json_to_recordset(?::json) AS v("slackUserId" text, "inviteId" text)
         WHERE b.bulk_id = ? AND b.slack_user_id = v."slackUserId"`,
        [JSON.stringify(pairs), bulkId],
      );
      return { ok: true as const, invites, refused };
    });
  }

  /** Whether one more invitation by `actor` would pass their daily cap (call under the account's lock). */
  async adminCapReached(db: Db, actor: Actor): Promise<InviteCapReached | undefined> {
    return this.capReached(db, actor, null, this.deps.now());
  }

  /**
   * Whether one more invitation by `actor` (of `forSlackUserId`, if named) would pass a cap:
   * `inviteLimitPerDay` per admin and INVITES_PER_PERSON_PER_DAY per invitee, over the rolling
   * 24 hours before `now`. Every invitation made counts, a link for anyone once.
   */
  private async capReached(
    db: Db,
    actor: Actor,
    forSlackUserId: string | null,
    now: Date,
    inBulk = false,
  ): Promise<InviteCapReached | undefined> {
    const limit = this.deps.inviteLimitPerDay;
    if (limit > 0 && !inBulk) {
      const resetsAt = freedAt(
        await invitedRecently(db, actor.accountId, { created_by: actor.slackUserId }, now),
        limit,
      );
      if (resetsAt) return { ok: false, reason: 'invite_limit', limit, resetsAt };
    }
    if (forSlackUserId) {
      const times = await invitedRecently(db, actor.accountId, { for_slack_user_id: forSlackUserId }, now);
      const resetsAt = freedAt(times, INVITES_PER_PERSON_PER_DAY);
      if (resetsAt) return { ok: false, reason: 'invitee_invite_limit', limit: INVITES_PER_PERSON_PER_DAY, resetsAt };
    }
    return undefined;
  }

  /**
   * How many more invitations `actor` may make now, and when the cap has room again once reached
   * (else when the oldest counted one stops counting); undefined when there is no limit.
   */
  async allowance(actor: Actor): Promise<{ limit: number; left: number; resetsAt: Date | null } | undefined> {
    const limit = this.deps.inviteLimitPerDay;
    if (limit <= 0) return undefined;
    const now = this.deps.now();
    const made = await invitedRecently(this.deps.knex, actor.accountId, { created_by: actor.slackUserId }, now);
    const oldest = made[0];
    return {
      limit,
      left: Math.max(0, limit - made.length),
      resetsAt: freedAt(made, limit) ?? (oldest ? new Date(oldest.getTime() + INVITE_WINDOW_MS) : null),
    };
  }

  /** Whether a token is a link this service signed (expired or not), without asking the database. */
  async genuine(token: string): Promise<boolean> {
    return (await this.deps.links.verify(token)).ok;
  }

  /** What a registration link points at, for the page a GET shows. Changes nothing. */
  async inspect(token: string): Promise<Inspection> {
    const verified = await this.deps.links.verify(token);
    if (!verified.ok) return refuse('invite_unknown');
    return this.inspectById(verified.inviteId);
  }

  /** The same, for an invite Slack names (the Accept button of its DM): no token to check. */
  async inspectById(inviteId: string): Promise<Inspection> {
    const row = await this.details(inviteId);
    if (!row) return refuse('invite_unknown');
    const details = {
      invite: toInvite(row),
      account: toAccount(row.account as Record<string, unknown>),
      inviterName: (row.inviter_name as string | null) ?? null,
    };
    const refusal =
      refusalFor(details.invite, this.deps.now()) ??
      (await linkAuthority(
        this.deps.knex,
        details.invite,
        details.account,
        this.deps.multiWorkspace,
        row.inviter_can_invite === true,
      ));
    if (refusal) return { ...refusal, details };
    return { ok: true, ...details };
  }
}
