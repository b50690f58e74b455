import { randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { recordAudit, recordRefusal } from './audit-log.js';
import {
  authorizeAdmin,
  canAdminister,
  deactivatedInSlack,
  findMember,
  IS_ADMIN_SQL,
  lockAccount,
  readAsAdmin,
  usableInvite,
} from './checks.js';
import { type Db, inTransaction, prepared } from './db.js';
import { isInstalled } from './installations.js';
import { type Directory, mayJoin, type SlackPerson, sameWorkspace } from './people.js';
import type { RegistrationLinks } from './registration-links.js';
import { sortNameOf, toAccount, toInvite, toMember } from './rows.js';
import {
  type Account,
  type Actor,
  type AuditSource,
  type Invite,
  type InviteState,
  type Member,
  type Profile,
  type Refused,
  type Result,
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
function refusalFor(invite: Invite, now: Date): Refused<LinkRefusal> | undefined {
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
  const times: Array<Date | string> = await db('invites')
    .where({ account_id: accountId, ...whose })
    .where('created_at', '>', new Date(now.getTime() - INVITE_WINDOW_MS))
    .orderBy('created_at')
    .pluck('created_at');
  return times.map((t) => new Date(t));
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
  url: string;
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

/** Who a person is, as Slack vouched for them (Sign in with Slack). */
export interface VerifiedIdentity {
  slackUserId: string;
  /** The Slack workspace the identity was verified in. */
  teamId: string;
  /** Its Enterprise Grid org, if any. */
  enterpriseId?: string | null;
}

/** Who a link would take, and what is known of them: their membership, or Slack's word. */
export type Admitted = InviteDetails & { slackUserId: string; member?: Member; person?: SlackPerson };

/** Whether a link would take someone: who, or why not (with what the link is, when it is known). */
export type Admission = ({ ok: true } & Admitted) | (Refused<AcceptRefusal> & { details?: InviteDetails });

const NOT_FOUND_AS = {
  unknown: 'not_in_workspace',
  not_installed: 'app_not_installed',
  unavailable: 'slack_unavailable',
} as const;

export type AcceptRefusal =
  | LinkRefusal
  | 'identity_required'
  | 'wrong_person'
  | 'wrong_account'
  | 'guest_needs_personal_invite'
  | 'slack_unavailable';

// What a registration page shows: the invite, its account and the inviting admin's name.
const INVITE_DETAILS = `SELECT i.*, row_to_json(a.*) AS account, inviter.display_name AS inviter_name
  FROM invites i
  JOIN accounts a ON a.id = i.account_id
  LEFT JOIN members inviter ON inviter.account_id = i.account_id AND inviter.slack_user_id = i.created_by
  WHERE i.id = $1`;

export class InviteService {
  constructor(
    private readonly deps: {
      knex: Knex;
      links: RegistrationLinks;
      now: () => Date;
      ttlSeconds: number;
      /** Invitations one admin may make in 24 hours (0: no limit). */
      inviteLimitPerDay: number;
      /** What Slack says about a person, asked when a link is used. */
      directory: Directory;
      /** Multi-workspace mode: a link works only while the app is installed in its workspace. */
      multiWorkspace: boolean;
      /** Sign in with Slack is set up: links for anyone can be used, so they can be made. */
      sharedLinks: boolean;
    },
  ) {}

  /**
   * The authority a link carries, checked whenever it is used (not only when it was made): its
   * maker can still act as an AccountAdmin, and (multi-workspace mode) the app is installed in
   * its workspace now.
   */
  private async authorityOf(db: Db, invite: Invite, account: Account): Promise<Refused<LinkRefusal> | undefined> {
    if (!(await canAdminister(db, invite.accountId, invite.createdBy))) return refuse('inviter_cannot_invite');
    if (this.deps.multiWorkspace && !(await isInstalled(db, account))) return refuse('app_not_installed');
    return undefined;
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
    } = {},
  ): Promise<
    | ({ ok: true } & CreatedInvite)
    | Refused<'not_member' | 'not_admin' | 'already_member' | 'identity_required'>
    | InviteCapReached
  > {
    const forSlackUserId = options.forSlackUserId ?? null;
    const result = await inTransaction(this.deps.knex, async (trx) => {
      // The account's lock also makes the caps exact across processes: counts are read and the
      // invite written with no other invitation of the account in between.
      await lockAccount(trx, actor.accountId);
      const auth = await authorizeAdmin(trx, actor);
      if (!auth.ok) return auth;
      // A link for anyone is used by whoever Slack says signs in: without Sign in with Slack
      // nobody could use it.
      if (!forSlackUserId && !this.deps.sharedLinks) return refuse('identity_required');
      const now = this.deps.now();
      if (forSlackUserId) {
        const existing = await findMember(trx, actor.accountId, forSlackUserId);
        if (existing?.status === 'active') return refuse('already_member');
      }
      const capped = await this.capReached(trx, actor, forSlackUserId, now);
      if (capped) return capped;
      let replaced: string | null = null;
      if (forSlackUserId) {
        const [old] = await trx('invites')
          .where({ account_id: actor.accountId, for_slack_user_id: forSlackUserId, uses: 0 })
          .whereNull('revoked_at')
          .update({ revoked_at: now, revoked_by: actor.slackUserId, revoke_reason: 'replaced' })
          .returning('id');
        replaced = (old as { id: string } | undefined)?.id ?? null;
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
        })
        .returning('*');
      const invite = toInvite(row);
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
   * Whether one more invitation by `actor` (of `forSlackUserId`, if named) would pass a cap:
   * `inviteLimitPerDay` per admin and INVITES_PER_PERSON_PER_DAY per invitee, over the rolling
   * 24 hours before `now`. Every invitation made counts, a link for anyone once.
   */
  private async capReached(
    db: Db,
    actor: Actor,
    forSlackUserId: string | null,
    now: Date,
  ): Promise<InviteCapReached | undefined> {
    const limit = this.deps.inviteLimitPerDay;
    if (limit > 0) {
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
    const [row] = await prepared(this.deps.knex, 'invite_details', INVITE_DETAILS, [verified.inviteId]);
    if (!row) return refuse('invite_unknown');
    const details = {
      invite: toInvite(row),
      account: toAccount(row.account as Record<string, unknown>),
      inviterName: (row.inviter_name as string | null) ?? null,
    };
    const refusal =
      refusalFor(details.invite, this.deps.now()) ??
      (await this.authorityOf(this.deps.knex, details.invite, details.account));
    if (refusal) return { ...refusal, details };
    return { ok: true, ...details };
  }

  /**
   * Who would join through this link, and whether they may, by every rule but the use itself:
   * the link's state and authority; for a personal invite, that the identity (when given) is the
   * invited person; for a link for anyone, a verified identity of the account's own workspace;
   * and, asked of Slack now, that the person is an active person of it (a guest only by a personal
   * invite). A refusal of someone Slack vouched for is audited. Refusals carry what the link is,
   * for the page that explains them.
   */
  private async admit(token: string, identity: VerifiedIdentity | undefined, source: AuditSource): Promise<Admission> {
    const inspected = await this.inspect(token);
    if (!inspected.ok) return inspected;
    const { ok: _, ...details } = inspected;
    const { invite, account } = details;
    const refused = async (reason: AcceptRefusal, audited?: string) => {
      if (audited) await this.refused(account, invite, audited, source, reason);
      return { ...refuse(reason), details };
    };
    let slackUserId: string;
    if (invite.forSlackUserId) {
      if (identity && identity.slackUserId !== invite.forSlackUserId)
        return refused('wrong_person', identity.slackUserId);
      slackUserId = invite.forSlackUserId;
    } else {
      if (!identity) return refused('identity_required');
      if (!sameWorkspace(account, { teamId: identity.teamId, enterpriseId: identity.enterpriseId ?? null })) {
        return refused('wrong_account');
      }
      slackUserId = identity.slackUserId;
    }

    const existing = await findMember(this.deps.knex, account.id, slackUserId);
    if (existing?.status === 'active') return { ok: true, ...details, slackUserId, member: existing };

    const lookup = await this.deps.directory.lookup(account, slackUserId);
    if (!lookup.found) return refused(NOT_FOUND_AS[lookup.why]);
    const may = mayJoin(account, lookup.person, invite.forSlackUserId ? 'personal_invite' : 'shared_link');
    if (!may.ok) return refused(may.reason, identity ? slackUserId : undefined);
    return { ok: true, ...details, slackUserId, person: lookup.person };
  }

  /**
   * For the page a signed-in person sees before confirming: whether this link would take them,
   * without using it. Changes nothing but the audit of a refused person.
   */
  async identify(token: string, identity: VerifiedIdentity): Promise<Admission> {
    return this.admit(token, identity, 'registration_page');
  }

  /**
   * Registers a person through a registration link, as AccountUser, if `admit` lets them: the
   * checks are made again under the account's lock, where the link is used up. An active
   * member stays as is and the link is not used.
   */
  async accept(
    token: string,
    options: { identity?: VerifiedIdentity; profile?: Profile; source?: AuditSource } = {},
  ): Promise<
    | { ok: true; member: Member; account: Account; invite: Invite; alreadyMember: boolean }
    | (Refused<AcceptRefusal> & { details?: InviteDetails })
  > {
    const source = options.source ?? 'registration_page';
    // Slack is asked here, outside the transaction: no lock is held while Slack answers.
    const admitted = await this.admit(token, options.identity, source);
    if (!admitted.ok) return admitted;
    const { ok: _, member: existing, person, slackUserId, ...details } = admitted;
    const { invite, account } = details;
    if (existing) return { ok: true, member: existing, account, invite, alreadyMember: true };
    const profile = {
      displayName: person?.displayName ?? options.profile?.displayName ?? invite.forDisplayName,
      email: person?.email ?? options.profile?.email ?? null,
    };

    return inTransaction(this.deps.knex, async (trx) => {
      // Under the account's lock: a demotion, removal, revocation or Slack deactivation is either
      // wholly before this or wholly after it.
      await lockAccount(trx, account.id);
      const now = this.deps.now();
      const current = toInvite(await trx('invites').where({ id: invite.id }).first());
      const refusal =
        refusalFor(current, now) ??
        (await this.authorityOf(trx, current, account)) ??
        ((await deactivatedInSlack(trx, account.id, slackUserId)) ? refuse('not_in_workspace') : undefined);
      if (refusal) return { ...refusal, details };

      const before = await findMember(trx, account.id, slackUserId);
      if (before?.status === 'active')
        return { ok: true, member: before, account, invite: current, alreadyMember: true };

      // One statement decides who gets the last use, however many try at once.
      const [used] = await trx('invites')
        .where({ id: invite.id })
        .whereRaw(usableInvite('invites', '?'), [now])
        .update({ uses: trx.raw('uses + 1'), last_used_at: now })
        .returning('*');
      if (!used) return { ...refuse('invite_used'), details };

      const registration = {
        display_name: profile.displayName ?? null,
        email: profile.email ?? null,
        sort_name: sortNameOf(profile.displayName, slackUserId),
        role: invite.role,
        status: 'active',
        registered_at: now,
        invited_by: invite.createdBy,
        invite_id: invite.id,
        // A removed member who registers again starts afresh; the audit log keeps the past.
        removed_at: null,
        removed_by: null,
        slack_deactivated_at: null,
        updated_at: now,
      };
      const [memberRow] = await trx('members')
        .insert({ account_id: account.id, slack_user_id: slackUserId, ...registration })
        .onConflict(['account_id', 'slack_user_id'])
        .merge(registration)
        .returning('*');
      const member = toMember(memberRow);
      await recordAudit(trx, {
        accountId: account.id,
        actor: slackUserId,
        action: 'member.registered',
        source,
        targetSlackUserId: slackUserId,
        targetInviteId: invite.id,
        before: before ? { status: before.status, role: before.role } : null,
        after: { status: 'active', role: invite.role, invitedBy: invite.createdBy },
        at: now,
      });
      return { ok: true, member, account, invite: toInvite(used), alreadyMember: false };
    });
  }

  /** An attempt by a person Slack vouched for that a link refused, in the audit log, naming the link. */
  private refused(
    account: Account,
    invite: Invite,
    slackUserId: string,
    source: AuditSource,
    reason: AcceptRefusal,
  ): Promise<void> {
    return recordRefusal(
      this.deps.knex,
      { accountId: account.id, slackUserId, source },
      { operation: 'register', reason, inviteId: invite.id, invitee: invite.forSlackUserId },
      this.deps.now(),
    );
  }

  /** Invites that can still be used, soonest to expire first. */
  async listPending(
    actor: Actor,
    options: { limit?: number } = {},
  ): Promise<Result<{ invites: Invite[] }, 'not_member' | 'not_admin'>> {
    const limit = Math.max(1, Math.min(options.limit ?? 100, 500));
    const read = await readAsAdmin(
      this.deps.knex,
      'invites_pending',
      `SELECT i.* FROM invites i
       WHERE i.account_id = $1 AND ${usableInvite('i', '$3')} AND ${IS_ADMIN_SQL}
       ORDER BY i.expires_at, i.id LIMIT $4`,
      'chunk.expires_at, chunk.id',
      actor,
      [this.deps.now(), limit],
    );
    return read.ok ? { ok: true, invites: read.rows.map(toInvite) } : read;
  }

  /** Stops a link from working at once. Revoking a dead invite is refused with its state. */
  async revoke(
    actor: Actor,
    inviteId: string,
  ): Promise<Result<{ invite: Invite }, 'not_member' | 'not_admin' | LinkRefusal>> {
    return inTransaction(this.deps.knex, async (trx) => {
      await lockAccount(trx, actor.accountId);
      const auth = await authorizeAdmin(trx, actor);
      if (!auth.ok) return auth;
      const row = await trx('invites').where({ id: inviteId, account_id: actor.accountId }).first();
      if (!row) return refuse('invite_unknown');
      const now = this.deps.now();
      const refusal = refusalFor(toInvite(row), now);
      if (refusal) return refusal;
      const [updated] = await trx('invites')
        .where({ id: inviteId })
        .update({ revoked_at: now, revoked_by: actor.slackUserId, revoke_reason: 'revoked' })
        .returning('*');
      await recordAudit(trx, {
        accountId: actor.accountId,
        actor: actor.slackUserId,
        action: 'invite.revoked',
        source: actor.source,
        targetSlackUserId: (row.for_slack_user_id as string | null) ?? null,
        targetInviteId: inviteId,
        before: { state: 'pending' },
        after: { state: 'revoked' },
        at: now,
      });
      return { ok: true, invite: toInvite(updated) };
    });
  }
}
