import type { Knex } from 'knex';
import {
  authorizeAdmin,
  countActiveAdmins,
  findMember,
  inTransaction,
  lockAccount,
  recordAudit,
  sortNameOf,
  toMember,
} from './store.js';
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

export class MemberService {
  constructor(private readonly deps: { knex: Knex; now: () => Date }) {}

  /** The member record of a Slack user in an account, active or removed. */
  async find(accountId: number, slackUserId: string): Promise<Member | undefined> {
    return findMember(this.deps.knex, accountId, slackUserId);
  }

  /**
   * A page of the account's active members in a stable order (name, then Slack id), by
   * keyset: after or before a cursor, or by page number.
   */
  async list(actor: Actor, request: PageRequest): Promise<Result<MemberPage, 'not_member' | 'not_admin'>> {
    const { knex } = this.deps;
    const auth = await authorizeAdmin(knex, actor);
    if (!auth.ok) return auth;
    const limit = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(request.limit)));
    const active = () => knex('members').where({ account_id: actor.accountId, status: 'active' });
    const totalRow = await active().count<{ n: number }>({ n: '*' }).first();
    const total = Number(totalRow?.n ?? 0);

    let rows: Array<Record<string, unknown> & { sort_name: string; slack_user_id: string }>;
    let page: number | null = null;
    let hasBefore: boolean;
    let hasAfter: boolean;
    if ('after' in request || 'before' in request) {
      const backwards = 'before' in request;
      const key = decodeCursor(backwards ? request.before : (request as { after: string }).after);
      if (!key) return this.list(actor, { limit });
      const op = backwards ? '<' : '>';
      const dir = backwards ? 'desc' : 'asc';
      rows = await active()
        .whereRaw(`(sort_name, slack_user_id) ${op} (?, ?)`, [key.sortName, key.slackUserId])
        .orderBy([
          { column: 'sort_name', order: dir },
          { column: 'slack_user_id', order: dir },
        ])
        .limit(limit + 1);
      const more = rows.length > limit;
      rows = rows.slice(0, limit);
      if (backwards) rows.reverse();
      hasBefore = backwards ? more : true;
      hasAfter = backwards ? true : more;
    } else {
      const pages = Math.max(1, Math.ceil(total / limit));
      page = Math.min(Math.max(1, Math.floor(request.page ?? 1)), pages);
      rows = await active()
        .orderBy(['sort_name', 'slack_user_id'])
        .offset((page - 1) * limit)
        .limit(limit);
      hasBefore = page > 1;
      hasAfter = page < pages;
    }
    const first = rows[0];
    const last = rows[rows.length - 1];
    return {
      ok: true,
      members: rows.map(toMember),
      total,
      page,
      next: hasAfter && last ? encodeCursor(last) : null,
      previous: hasBefore && first ? encodeCursor(first) : null,
    };
  }

  /** Makes `slackUserId` an AccountAdmin or AccountUser. No change leaves the account without an admin. */
  async changeRole(
    actor: Actor,
    targetSlackUserId: string,
    role: Role,
  ): Promise<
    Result<{ member: Member; changed: boolean }, 'not_member' | 'not_admin' | 'unknown_member' | 'last_admin'>
  > {
    return inTransaction(this.deps.knex, async (trx) => {
      await lockAccount(trx, actor.accountId);
      const auth = await authorizeAdmin(trx, actor);
      if (!auth.ok) return auth;
      const target = await findMember(trx, actor.accountId, targetSlackUserId);
      if (target?.status !== 'active') return refuse('unknown_member');
      if (target.role === role) return { ok: true, member: target, changed: false };
      if (target.role === 'AccountAdmin' && (await countActiveAdmins(trx, actor.accountId)) <= 1) {
        return refuse('last_admin');
      }
      const now = this.deps.now();
      const [row] = await trx('members').where({ id: target.id }).update({ role, updated_at: now }).returning('*');
      await recordAudit(trx, {
        accountId: actor.accountId,
        actor: actor.slackUserId,
        action: 'member.role_changed',
        source: actor.source,
        targetSlackUserId: target.slackUserId,
        before: { role: target.role },
        after: { role },
        at: now,
      });
      return { ok: true, member: toMember(row), changed: true };
    });
  }

  /**
   * Soft-deletes a member: access ends now, history stays, and the invites they created stop
   * working (a removed admin must not get people in through an earlier link).
   */
  async remove(
    actor: Actor,
    targetSlackUserId: string,
  ): Promise<
    Result<{ member: Member; revokedInvites: number }, 'not_member' | 'not_admin' | 'unknown_member' | 'last_admin'>
  > {
    return inTransaction(this.deps.knex, async (trx) => {
      await lockAccount(trx, actor.accountId);
      const auth = await authorizeAdmin(trx, actor);
      if (!auth.ok) return auth;
      const target = await findMember(trx, actor.accountId, targetSlackUserId);
      if (target?.status !== 'active') return refuse('unknown_member');
      if (target.role === 'AccountAdmin' && (await countActiveAdmins(trx, actor.accountId)) <= 1) {
        return refuse('last_admin');
      }
      const now = this.deps.now();
      const [row] = await trx('members')
        .where({ id: target.id })
        .update({ status: 'removed', removed_at: now, removed_by: actor.slackUserId, updated_at: now })
        .returning('*');
      // Only links that could still be used: used-up and expired ones keep their own story.
      const revoked = await trx('invites')
        .where({ account_id: actor.accountId, created_by: target.slackUserId })
        .whereNull('revoked_at')
        .where('expires_at', '>', now)
        .where((q) => q.whereNull('max_uses').orWhereRaw('uses < max_uses'))
        .update({ revoked_at: now, revoked_by: actor.slackUserId, revoke_reason: 'inviter_removed' })
        .returning('id');
      await recordAudit(trx, {
        accountId: actor.accountId,
        actor: actor.slackUserId,
        action: 'member.removed',
        source: actor.source,
        targetSlackUserId: target.slackUserId,
        before: { status: 'active', role: target.role },
        after: { status: 'removed', revokedInvites: revoked.map((r: { id: string }) => r.id) },
        at: now,
      });
      return { ok: true, member: toMember(row), revokedInvites: revoked.length };
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
      if ((await countActiveAdmins(trx, accountId)) > 0) return { promoted: [] };
      const now = this.deps.now();
      for (const person of people) {
        const before = await findMember(trx, accountId, person.slackUserId);
        await trx('members')
          .insert({
            account_id: accountId,
            slack_user_id: person.slackUserId,
            display_name: person.displayName ?? null,
            email: person.email ?? null,
            sort_name: sortNameOf(person.displayName, person.slackUserId),
            role: 'AccountAdmin',
            status: 'active',
            registered_at: now,
            updated_at: now,
          })
          .onConflict(['account_id', 'slack_user_id'])
          .merge({ role: 'AccountAdmin', status: 'active', removed_at: null, removed_by: null, updated_at: now });
        await recordAudit(trx, {
          accountId,
          actor: 'system',
          action: 'member.bootstrapped',
          source: 'bootstrap',
          targetSlackUserId: person.slackUserId,
          before: before ? { status: before.status, role: before.role } : null,
          after: { status: 'active', role: 'AccountAdmin' },
          at: now,
        });
      }
      return { promoted: people.map((p) => p.slackUserId) };
    });
  }

  /** Some of the account's active AccountAdmins, for telling people whom to ask. */
  async activeAdmins(accountId: number, limit: number): Promise<string[]> {
    return this.deps
      .knex('members')
      .where({ account_id: accountId, status: 'active', role: 'AccountAdmin' })
      .orderBy('registered_at')
      .limit(limit)
      .pluck('slack_user_id');
  }

  /** Keeps the stored name and email in step with Slack; touches nothing else. */
  async updateProfile(accountId: number, slackUserId: string, profile: Profile): Promise<void> {
    const changes: Record<string, unknown> = {};
    if (profile.displayName !== undefined) {
      changes.display_name = profile.displayName;
      changes.sort_name = sortNameOf(profile.displayName, slackUserId);
    }
    if (profile.email !== undefined) changes.email = profile.email;
    if (Object.keys(changes).length === 0) return;
    await this.deps.knex('members').where({ account_id: accountId, slack_user_id: slackUserId }).update(changes);
  }
}
