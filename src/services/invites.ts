import { randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import type { RegistrationLinks } from './registration-links.js';
import {
  authorizeAdmin,
  findMember,
  inTransaction,
  lockAccount,
  prepared,
  readAsAdmin,
  recordAudit,
  sortNameOf,
  toAccount,
  toInvite,
  toMember,
  usableInvite,
} from './store.js';
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

/** Why an invite cannot be used, as a refusal the pages and commands can show. */
function refusalFor(invite: Invite, now: Date): Refused<InviteRefusal> | undefined {
  switch (inviteState(invite, now)) {
    case 'revoked':
      return refuse(invite.revokeReason === 'replaced' ? 'invite_replaced' : 'invite_revoked');
    case 'used':
      return refuse('invite_used');
    case 'expired':
      return refuse('invite_expired');
    default:
      return undefined;
  }
}

export type InviteRefusal = 'invite_unknown' | 'invite_expired' | 'invite_revoked' | 'invite_replaced' | 'invite_used';

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
export type Inspection = ({ ok: true } & InviteDetails) | (Refused<InviteRefusal> & { details?: InviteDetails });

export interface VerifiedIdentity {
  slackUserId: string;
  /** The Slack team (or Enterprise Grid org) the identity was verified in. */
  teamId: string;
}

// What a registration page shows: the invite, its account and the inviting admin's name.
const INVITE_DETAILS = `SELECT i.*, row_to_json(a.*) AS account, inviter.display_name AS inviter_name
  FROM invites i
  JOIN accounts a ON a.id = i.account_id
  LEFT JOIN members inviter ON inviter.account_id = i.account_id AND inviter.slack_user_id = i.created_by
  WHERE i.id = $1`;

export class InviteService {
  constructor(private readonly deps: { knex: Knex; links: RegistrationLinks; now: () => Date; ttlSeconds: number }) {}

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
  ): Promise<Result<CreatedInvite, 'not_member' | 'not_admin' | 'already_member'>> {
    const forSlackUserId = options.forSlackUserId ?? null;
    const result = await inTransaction(this.deps.knex, async (trx) => {
      await lockAccount(trx, actor.accountId);
      const auth = await authorizeAdmin(trx, actor);
      if (!auth.ok) return auth;
      const now = this.deps.now();
      let replaced: string | null = null;
      if (forSlackUserId) {
        const existing = await findMember(trx, actor.accountId, forSlackUserId);
        if (existing?.status === 'active') return refuse('already_member');
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
    const refusal = refusalFor(details.invite, this.deps.now());
    if (refusal) return { ...refusal, details };
    return { ok: true, ...details };
  }

  /**
   * Registers the holder of a registration link as AccountUser. A bound invite registers
   * exactly its Slack user; a link for anyone needs a verified Slack identity of the account's
   * team. A member who is already active stays as is and the invite is not used up.
   */
  async accept(
    token: string,
    options: { identity?: VerifiedIdentity; profile?: Profile; source?: AuditSource } = {},
  ): Promise<
    Result<
      { member: Member; account: Account; invite: Invite; alreadyMember: boolean },
      InviteRefusal | 'identity_required' | 'wrong_person' | 'wrong_account'
    >
  > {
    const verified = await this.deps.links.verify(token);
    if (!verified.ok) return refuse('invite_unknown');
    return inTransaction(this.deps.knex, async (trx) => {
      const now = this.deps.now();
      const row = await trx('invites').where({ id: verified.inviteId }).first();
      if (!row) return refuse('invite_unknown');
      const invite = toInvite(row);
      const accountRow = await trx('accounts').where({ id: invite.accountId }).first();
      const account = toAccount(accountRow);
      const refusal = refusalFor(invite, now);
      if (refusal) return refusal;

      const identity = options.identity;
      let slackUserId: string;
      if (invite.forSlackUserId) {
        if (identity && identity.slackUserId !== invite.forSlackUserId) return refuse('wrong_person');
        slackUserId = invite.forSlackUserId;
      } else {
        if (!identity) return refuse('identity_required');
        const accountTeam = account.isEnterpriseInstall ? account.slackEnterpriseId : account.slackTeamId;
        if (identity.teamId !== accountTeam) return refuse('wrong_account');
        slackUserId = identity.slackUserId;
      }

      const existing = await findMember(trx, invite.accountId, slackUserId);
      if (existing?.status === 'active') {
        return { ok: true, member: existing, account, invite, alreadyMember: true };
      }

      // One statement decides who gets the last use, however many try at once.
      const [used] = await trx('invites')
        .where({ id: invite.id })
        .whereRaw(usableInvite('invites', '?'), [now])
        .update({ uses: trx.raw('uses + 1'), last_used_at: now })
        .returning('*');
      if (!used) {
        // Revoked, used up or expired by a concurrent request since we read it.
        const current = toInvite(await trx('invites').where({ id: invite.id }).first());
        return refusalFor(current, now) ?? refuse('invite_used');
      }

      const profile = options.profile ?? {};
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
        .insert({ account_id: invite.accountId, slack_user_id: slackUserId, ...registration })
        .onConflict(['account_id', 'slack_user_id'])
        .merge(registration)
        .returning('*');
      const member = toMember(memberRow);
      await recordAudit(trx, {
        accountId: invite.accountId,
        actor: slackUserId,
        action: 'member.registered',
        source: options.source ?? 'registration_page',
        targetSlackUserId: slackUserId,
        targetInviteId: invite.id,
        before: existing ? { status: existing.status, role: existing.role } : null,
        after: { status: 'active', role: invite.role, invitedBy: invite.createdBy },
        at: now,
      });
      return { ok: true, member, account, invite: toInvite(used), alreadyMember: false };
    });
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
       WHERE i.account_id = $1 AND ${usableInvite('i', '$3')} AND EXISTS (SELECT 1 FROM me WHERE role = 'AccountAdmin')
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
  ): Promise<Result<{ invite: Invite }, 'not_member' | 'not_admin' | InviteRefusal>> {
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
