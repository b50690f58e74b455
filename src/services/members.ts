import type { Knex } from 'knex';
import { recordAudit } from './audit-log.js';
import {
  adminRefusal,
  authorizeAdmin,
  countUsableAdmins,
  findMember,
  IS_ADMIN_SQL,
  lockAccount,
  ME_SQL,
  readAsAdmin,
  usableInvite,
} from './checks.js';
import { inTransaction, prepared } from './db.js';
import { endInvites, grantAdmin, removeMember } from './membership.js';
import { toMember } from './rows.js';
import { type Actor, type Member, type Profile, type Result, type Role, refuse } from './types.js';

export const MAX_PAGE_SIZE = 100;

export interface MemberPage {
  members: Member[];
  /** Active members in the account. */
  total: number;
  /** 1-based, when the page was asked for by number. */
  page: number | null;
  /** Opaque keyset cursors for the neighbouring pages, null at either end. */
  next: string | null;
  previous: string | null;
}

export type PageRequest =
  | { limit: number; page?: number }
  | { limit: number; after: string }
  | { limit: number; before: string };

type MemberRow = Record<string, unknown> & { sort_name: string; slack_user_id: string };

// The actor's role and the account's total come with every page, in the same statement.
// $1 account, $2 actor, $3 page size (+1 for keyset reads, to tell whether there are more).
const ACTIVE = `m.account_id = $1 AND m.status = 'active'`;
const RESULT = (order: string) => `SELECT (SELECT role FROM me) AS actor_role,
  (SELECT active_members FROM accounts WHERE id = $1) AS total,
  (SELECT coalesce(json_agg(chunk ORDER BY ${order}), '[]'::json) FROM chunk) AS members`;
const KEYS = "SELECT b.sort_name, b.slack_user_id FROM members b WHERE b.account_id = $1 AND b.status = 'active'";

// Page $4: its first key is found by skipping, on the index alone, the members before it, or
// the members after it when that is fewer; then the page is read by keyset from that key.
const PAGE_BY_NUMBER = `WITH ${ME_SQL},
  t AS (SELECT active_members AS total FROM accounts WHERE id = $1),
  p AS (SELECT LEAST($4::int, GREATEST(1, CEIL(total::numeric / $3))::int) AS page, total FROM t),
  s AS (SELECT page, (page - 1) * $3 AS skip, total - (page - 1) * $3 - 1 AS skip_back,
               (page - 1) * $3 <= total / 2 AS forwards FROM p),
  boundary AS (
    (${KEYS} AND (SELECT forwards FROM s) ORDER BY b.sort_name, b.slack_user_id OFFSET (SELECT skip FROM s) LIMIT 1)
    UNION ALL
    (${KEYS} AND NOT (SELECT forwards FROM s) ORDER BY b.sort_name DESC, b.slack_user_id DESC
      OFFSET (SELECT GREATEST(skip_back, 0) FROM s) LIMIT 1)),
  chunk AS (
    SELECT m.* FROM members m
    WHERE ${ACTIVE} AND ${IS_ADMIN_SQL}
      AND (m.sort_name, m.slack_user_id) >= (SELECT sort_name, slack_user_id FROM boundary)
    ORDER BY m.sort_name, m.slack_user_id
    LIMIT $3)
  ${RESULT('chunk.sort_name, chunk.slack_user_id')}, (SELECT page FROM s) AS page`;

// After or before the key ($4, $5).
const PAGE_AFTER = `WITH ${ME_SQL},
  chunk AS (
    SELECT m.* FROM members m
    WHERE ${ACTIVE} AND ${IS_ADMIN_SQL} AND (m.sort_name, m.slack_user_id) > ($4, $5)
    ORDER BY m.sort_name, m.slack_user_id
    LIMIT $3)
  ${RESULT('chunk.sort_name, chunk.slack_user_id')}`;

const PAGE_BEFORE = `WITH ${ME_SQL},
  chunk AS (
    SELECT m.* FROM members m
    WHERE ${ACTIVE} AND ${IS_ADMIN_SQL} AND (m.sort_name, m.slack_user_id) < ($4, $5)
    ORDER BY m.sort_name DESC, m.slack_user_id DESC
    LIMIT $3)
  ${RESULT('chunk.sort_name DESC, chunk.slack_user_id DESC')}`;

interface Key {
  sortName: string;
  slackUserId: string;
}

function encodeCursor(member: { sort_name: string; slack_user_id: string }): string {
  return Buffer.from(JSON.stringify([member.sort_name, member.slack_user_id])).toString('base64url');
}

function decodeCursor(cursor: string): Key | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) {
      return { sortName: value[0] as string, slackUserId: value[1] as string };
    }
  } catch {
    // fall through
  }
  return undefined;
}

/** A page of members in display order, with cursors to the neighbouring pages that exist. */
function pageOf(
  rows: MemberRow[],
  total: number,
  page: number | null,
  has: { next: boolean; previous: boolean },
): { ok: true } & MemberPage {
  const first = rows[0];
  const last = rows[rows.length - 1];
  return {
    ok: true,
    members: rows.map(toMember),
    total,
    page,
    next: has.next && last ? encodeCursor(last) : null,
    previous: has.previous && first ? encodeCursor(first) : null,
  };
}

/** The actor named in the audit log for what Slack itself did (a deactivation). */
export const SLACK_ACTOR = 'Slack';

export class MemberService {
  constructor(private readonly deps: { knex: Knex; now: () => Date }) {}

  /**
   * A page of the account's active members in a stable order (name, then Slack id): after or
   * before a keyset cursor, or by page number. One statement does the service's own admin
   * check, reads the total (kept by a trigger) and the page.
   */
  async list(actor: Actor, request: PageRequest): Promise<Result<MemberPage, 'not_member' | 'not_admin'>> {
    const limit = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(request.limit)));
    if (!('after' in request) && !('before' in request)) {
      const { role, total, rows, page } = await this.fetch('members_page_by_number', PAGE_BY_NUMBER, actor, [
        limit,
        Math.max(1, Math.min(1_000_000, Math.floor(request.page ?? 1))),
      ]);
      const refused = adminRefusal(role);
      if (refused) return refused;
      const pages = Math.max(1, Math.ceil(total / limit));
      return pageOf(rows, total, page, { next: page < pages, previous: page > 1 });
    }
    const backwards = 'before' in request;
    const key = decodeCursor(backwards ? request.before : (request as { after: string }).after);
    if (!key) return this.list(actor, { limit });
    const { role, total, rows } = await this.fetch(
      backwards ? 'members_page_before' : 'members_page_after',
      backwards ? PAGE_BEFORE : PAGE_AFTER,
      actor,
      [limit + 1, key.sortName, key.slackUserId],
    );
    const refused = adminRefusal(role);
    if (refused) return refused;
    if (rows.length === 0 && total > 0) {
      // The members past the cursor left meanwhile: show the last page, or the first.
      return this.list(actor, { limit, page: backwards ? 1 : Math.ceil(total / limit) });
    }
    const more = rows.length > limit;
    const shown = rows.slice(0, limit);
    if (backwards) shown.reverse();
    return pageOf(shown, total, null, { next: backwards || more, previous: !backwards || more });
  }

  private async fetch(
    name: string,
    sql: string,
    actor: Actor,
    values: Array<string | number>,
  ): Promise<{ role: Role | null; total: number; page: number; rows: MemberRow[] }> {
    const [row] = await prepared(this.deps.knex, name, sql, [actor.accountId, actor.slackUserId, ...values]);
    const result = row as { actor_role: Role | null; total: number | null; page?: number; members: MemberRow[] };
    return {
      role: result.actor_role,
      total: Number(result.total ?? 0),
      page: Number(result.page ?? 1),
      rows: result.members,
    };
  }

  /**
   * Makes `slackUserId` an AccountAdmin or AccountUser. No change leaves the account without an
   * admin. A demoted admin's links stop working: they carried an authority the admin no longer has.
   */
  async changeRole(
    actor: Actor,
    targetSlackUserId: string,
    role: Role,
  ): Promise<
    Result<
      { member: Member; changed: boolean; revokedInvites: number },
      'not_member' | 'not_admin' | 'unknown_member' | 'last_admin'
    >
  > {
    return inTransaction(this.deps.knex, async (trx) => {
      await lockAccount(trx, actor.accountId);
      const auth = await authorizeAdmin(trx, actor);
      if (!auth.ok) return auth;
      const target = await findMember(trx, actor.accountId, targetSlackUserId);
      if (target?.status !== 'active') return refuse('unknown_member');
      if (target.role === role) return { ok: true, member: target, changed: false, revokedInvites: 0 };
      if (target.role === 'AccountAdmin' && (await countUsableAdmins(trx, actor.accountId, target.slackUserId)) === 0) {
        return refuse('last_admin');
      }
      const now = this.deps.now();
      // A demoted admin kept because Slack deactivated them is an ordinary member again.
      const [row] = await trx('members')
        .where({ id: target.id })
        .update({ role, updated_at: now, ...(role === 'AccountUser' ? { slack_deactivated_at: null } : {}) })
        .returning('*');
      const revokedInvites =
        role === 'AccountUser'
          ? await endInvites(trx, actor.accountId, { createdBy: target.slackUserId }, 'inviter_demoted', {
              actor: actor.slackUserId,
              at: now,
            })
          : [];
      await recordAudit(trx, {
        accountId: actor.accountId,
        actor: actor.slackUserId,
        action: 'member.role_changed',
        source: actor.source,
        targetSlackUserId: target.slackUserId,
        before: { role: target.role },
        after: { role, ...(revokedInvites.length ? { revokedInvites } : {}) },
        at: now,
      });
      return { ok: true, member: toMember(row), changed: true, revokedInvites: revokedInvites.length };
    });
  }

  /**
   * Soft-deletes a member: access ends now, history stays, the invites they created stop working
   * (a removed admin must not get people in through an earlier link), and so does any invite
   * still addressed to them (they must not come back through it).
   */
  async remove(
    actor: Actor,
    targetSlackUserId: string,
  ): Promise<
    Result<
      { member: Member; revokedInvites: number; invitesForThem: number },
      'not_member' | 'not_admin' | 'unknown_member' | 'last_admin'
    >
  > {
    return inTransaction(this.deps.knex, async (trx) => {
      await lockAccount(trx, actor.accountId);
      const auth = await authorizeAdmin(trx, actor);
      if (!auth.ok) return auth;
      const target = await findMember(trx, actor.accountId, targetSlackUserId);
      if (target?.status !== 'active') return refuse('unknown_member');
      if (target.role === 'AccountAdmin' && (await countUsableAdmins(trx, actor.accountId, target.slackUserId)) === 0) {
        return refuse('last_admin');
      }
      const removed = await removeMember(trx, target, {
        actor: actor.slackUserId,
        source: actor.source,
        at: this.deps.now(),
      });
      return {
        ok: true,
        member: toMember(removed.row),
        revokedInvites: removed.revokedInvites.length,
        invitesForThem: removed.invitesForThem.length,
      };
    });
  }

  /**
   * Makes the given Slack users AccountAdmins, but only while the account has no active
   * AccountAdmin: a restart with INITIAL_ADMINS still set never undoes a later demotion.
   */
  async bootstrapAdmins(
    accountId: number,
    people: ReadonlyArray<{ slackUserId: string } & Profile>,
  ): Promise<{ promoted: string[] }> {
    if (people.length === 0) return { promoted: [] };
    return inTransaction(this.deps.knex, async (trx) => {
      if (!(await lockAccount(trx, accountId))) throw new Error(`account ${accountId} does not exist`);
      // Admins deactivated in Slack cannot act: with only those left, the operator's list applies.
      if ((await countUsableAdmins(trx, accountId)) > 0) return { promoted: [] };
      const now = this.deps.now();
      for (const person of people) {
        await grantAdmin(trx, accountId, person, { actor: 'system', source: 'bootstrap', at: now });
      }
      return { promoted: people.map((p) => p.slackUserId) };
    });
  }

  /**
   * Slack deactivated this person: they leave the account (audited, actor "Slack"), unless they
   * are its last AccountAdmin able to act, who stays, marked, so the account keeps an admin.
   * Invites addressed to them stop working, whether or not they were a member. Safe to repeat
   * (Slack may deliver the event again).
   */
  async deactivatedInSlack(
    accountId: number,
    slackUserId: string,
  ): Promise<{ outcome: 'removed' | 'kept_last_admin' | 'already_kept' | 'not_member'; invitesEnded: number }> {
    return inTransaction(this.deps.knex, async (trx) => {
      await lockAccount(trx, accountId);
      const member = await findMember(trx, accountId, slackUserId);
      const now = this.deps.now();
      // Kept until Slack reactivates them: a registration through a link for anyone, which has
      // no invite to revoke, checks this under the same lock.
      await trx('slack_deactivations')
        .insert({ account_id: accountId, slack_user_id: slackUserId, deactivated_at: now })
        .onConflict(['account_id', 'slack_user_id'])
        .ignore();
      if (member?.status !== 'active') {
        const ended = await endInvites(trx, accountId, { forSlackUserId: slackUserId }, 'invitee_deactivated', {
          actor: SLACK_ACTOR,
          at: now,
        });
        for (const inviteId of ended) {
          await recordAudit(trx, {
            accountId,
            actor: SLACK_ACTOR,
            source: 'slack_event',
            action: 'invite.revoked',
            targetSlackUserId: slackUserId,
            targetInviteId: inviteId,
            before: { state: 'pending' },
            after: { state: 'revoked', reason: 'invitee_deactivated' },
            at: now,
          });
        }
        return { outcome: 'not_member', invitesEnded: ended.length };
      }
      const lastAdmin = member.role === 'AccountAdmin' && (await countUsableAdmins(trx, accountId, slackUserId)) === 0;
      if (lastAdmin) {
        if (member.slackDeactivatedAt) return { outcome: 'already_kept', invitesEnded: 0 };
        await trx('members').where({ id: member.id }).update({ slack_deactivated_at: now, updated_at: now });
        await recordAudit(trx, {
          accountId,
          actor: SLACK_ACTOR,
          source: 'slack_event',
          targetSlackUserId: slackUserId,
          at: now,
          action: 'member.kept_deactivated',
          before: { status: 'active', role: member.role },
          after: { status: 'active', role: member.role, deactivatedInSlack: true },
        });
        return { outcome: 'kept_last_admin', invitesEnded: 0 };
      }
      // Not (or no longer) the last admin who can act: a kept admin goes now too.
      const removed = await removeMember(trx, member, {
        actor: SLACK_ACTOR,
        source: 'slack_event',
        at: now,
        deactivatedInSlack: true,
      });
      return { outcome: 'removed', invitesEnded: removed.invitesForThem.length };
    });
  }

  /**
   * Slack reactivated this person. A kept admin is no longer marked; someone removed stays
   * removed: coming back to Slack does not register anyone.
   */
  async reactivatedInSlack(accountId: number, slackUserId: string): Promise<{ unmarked: boolean }> {
    return inTransaction(this.deps.knex, async (trx) => {
      // Under the account's lock, so it cannot interleave with a deactivation of the same person.
      await lockAccount(trx, accountId);
      await trx('slack_deactivations').where({ account_id: accountId, slack_user_id: slackUserId }).del();
      const cleared = await trx('members')
        .where({ account_id: accountId, slack_user_id: slackUserId, status: 'active' })
        .whereNotNull('slack_deactivated_at')
        .update({ slack_deactivated_at: null, updated_at: this.deps.now() });
      return { unmarked: Number(cleared) > 0 };
    });
  }

  /** For admins: how many active members and usable invites the account has (the App Home). */
  async summary(
    actor: Actor,
  ): Promise<Result<{ members: number; pendingInvites: number }, 'not_member' | 'not_admin'>> {
    const read = await readAsAdmin(
      this.deps.knex,
      'account_summary',
      `SELECT a.active_members AS members,
         (SELECT count(*)::int FROM invites i WHERE i.account_id = $1 AND ${usableInvite('i', '$3')}) AS pending_invites
       FROM accounts a WHERE a.id = $1 AND ${IS_ADMIN_SQL}`,
      'chunk.members',
      actor,
      [this.deps.now()],
    );
    if (!read.ok) return read;
    const [row] = read.rows;
    return { ok: true, members: Number(row?.members ?? 0), pendingInvites: Number(row?.pending_invites ?? 0) };
  }

  /**
   * Some of the account's active AccountAdmins, for telling people whom to ask: only those who
   * can act, unless `includeDeactivated` (to reach every admin, as when the last one is kept).
   */
  async activeAdmins(
    accountId: number,
    limit: number,
    options: { includeDeactivated?: boolean } = {},
  ): Promise<string[]> {
    const query = this.deps.knex('members').where({ account_id: accountId, status: 'active', role: 'AccountAdmin' });
    if (!options.includeDeactivated) query.whereNull('slack_deactivated_at');
    return query.orderBy('registered_at').limit(limit).pluck('slack_user_id');
  }
}
