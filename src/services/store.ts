// Shared data access for the services: row mapping, transactions, the account lock and the
// checks every admin operation makes inside its transaction.
import type { Knex } from 'knex';
import {
  type Account,
  type Actor,
  type AuditAction,
  type AuditEntry,
  type AuditSource,
  type Invite,
  type Member,
  type Profile,
  type Refused,
  type RevokeReason,
  refuse,
} from './types.js';

export type Db = Knex | Knex.Transaction;

type Row = Record<string, unknown>;

/** Timestamps arrive as Dates from columns and as text from JSON built in SQL. */
function date(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as string);
}

function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : date(value);
}

export function toAccount(row: Row): Account {
  return {
    id: row.id as number,
    slackTeamId: (row.slack_team_id as string | null) ?? null,
    slackEnterpriseId: (row.slack_enterprise_id as string | null) ?? null,
    isEnterpriseInstall: row.is_enterprise_install as boolean,
    name: (row.name as string | null) ?? null,
  };
}

export function toMember(row: Row): Member {
  return {
    id: row.id as number,
    accountId: row.account_id as number,
    slackUserId: row.slack_user_id as string,
    email: (row.email as string | null) ?? null,
    displayName: (row.display_name as string | null) ?? null,
    role: row.role as Member['role'],
    status: row.status as Member['status'],
    registeredAt: date(row.registered_at),
    invitedBy: (row.invited_by as string | null) ?? null,
    inviteId: (row.invite_id as string | null) ?? null,
    removedAt: dateOrNull(row.removed_at),
    removedBy: (row.removed_by as string | null) ?? null,
    slackDeactivatedAt: row.slack_deactivated_at ? new Date(row.slack_deactivated_at as string) : null,
  };
}

export function toInvite(row: Row): Invite {
  return {
    id: row.id as string,
    accountId: row.account_id as number,
    createdBy: row.created_by as string,
    forSlackUserId: (row.for_slack_user_id as string | null) ?? null,
    forDisplayName: (row.for_display_name as string | null) ?? null,
    role: row.role as Invite['role'],
    createdAt: date(row.created_at),
    expiresAt: date(row.expires_at),
    maxUses: (row.max_uses as number | null) ?? null,
    uses: row.uses as number,
    lastUsedAt: dateOrNull(row.last_used_at),
    revokedAt: dateOrNull(row.revoked_at),
    revokedBy: (row.revoked_by as string | null) ?? null,
    revokeReason: (row.revoke_reason as Invite['revokeReason']) ?? null,
  };
}

export function toAuditEntry(row: Row): AuditEntry {
  return {
    id: row.id as number,
    accountId: row.account_id as number,
    actor: row.actor as string,
    action: row.action as AuditAction,
    targetSlackUserId: (row.target_slack_user_id as string | null) ?? null,
    targetInviteId: (row.target_invite_id as string | null) ?? null,
    before: (row.before as Record<string, unknown> | null) ?? null,
    after: (row.after as Record<string, unknown> | null) ?? null,
    source: row.source as AuditSource,
    createdAt: date(row.created_at),
  };
}

/** The order members are listed in: by name, then by Slack id. */
export function sortNameOf(displayName: string | null | undefined, slackUserId: string): string {
  const name = displayName?.trim();
  return (name ? name : slackUserId).toLowerCase();
}

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: Row[] }>;
}

/**
 * A hot read, run as a named prepared statement on a pooled connection: parsed and planned
 * once per connection, and none of knex's query building on the way. Measured here: about a
 * third of the CPU of a built query and twice the throughput. `text` uses $1, $2, …
 */
export async function prepared(knex: Knex, name: string, text: string, values: unknown[]): Promise<Row[]> {
  const client = knex.client as {
    acquireConnection(): Promise<PgConnection>;
    releaseConnection(c: PgConnection): Promise<void>;
  };
  const connection = await client.acquireConnection();
  try {
    return (await connection.query({ name, text, values })).rows;
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * The admin check, as SQL: `ME_SQL` is a CTE of the actor's role ($1 account, $2 Slack user, active
 * members only), `IS_ADMIN_SQL` the condition that it is AccountAdmin. Reads that check the actor
 * in their own statement use these two; everything else uses `adminRefusal`.
 */
export const ME_SQL = `me AS (SELECT role FROM members WHERE account_id = $1 AND slack_user_id = $2 AND status = 'active')`;
export const IS_ADMIN_SQL = `EXISTS (SELECT 1 FROM me WHERE role = 'AccountAdmin')`;

/** The admin check, in TypeScript: why someone with this active role (or none) is no AccountAdmin. */
export function adminRefusal(role: string | null | undefined): Refused<'not_member' | 'not_admin'> | undefined {
  if (!role) return refuse('not_member');
  if (role !== 'AccountAdmin') return refuse('not_admin');
  return undefined;
}

/**
 * An AccountAdmin-only read in one round trip: the service's own check of the actor ($1
 * account, $2 Slack user) and the rows of `chunk`, a query that may use `me` and `$3`…
 */
export async function readAsAdmin(
  knex: Knex,
  name: string,
  chunk: string,
  order: string,
  actor: Actor,
  values: unknown[],
): Promise<{ ok: true; rows: Row[] } | Refused<'not_member' | 'not_admin'>> {
  const sql = `WITH ${ME_SQL},
    chunk AS (${chunk})
    SELECT (SELECT role FROM me) AS actor_role,
      (SELECT coalesce(json_agg(chunk ORDER BY ${order}), '[]'::json) FROM chunk) AS rows`;
  const [row] = await prepared(knex, name, sql, [actor.accountId, actor.slackUserId, ...values]);
  return adminRefusal(row?.actor_role as string | null | undefined) ?? { ok: true, rows: (row?.rows as Row[]) ?? [] };
}

/** The rule for an invite that can still be used, in SQL: `now` is the placeholder for the time. */
export function usableInvite(table: string, now: string): string {
  return `${table}.revoked_at IS NULL AND ${table}.expires_at > ${now} AND (${table}.max_uses IS NULL OR ${table}.uses < ${table}.max_uses)`;
}

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock

/** Runs `work` in one transaction, retrying it whole when PostgreSQL asks us to. */
export async function inTransaction<T>(knex: Knex, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await knex.transaction(work);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code || !RETRYABLE.has(code) || attempt >= 5) throw err;
    }
  }
}

/**
 * Locks the account row for the rest of the transaction. Every change that could affect who
 * administers an account takes this lock first, so two admins acting at the same instant,
 * from any number of processes, are serialised by the database.
 */
export async function lockAccount(trx: Knex.Transaction, accountId: number): Promise<boolean> {
  const row = await trx('accounts').select('id').where({ id: accountId }).forUpdate().first();
  return row !== undefined;
}

export async function findMember(db: Db, accountId: number, slackUserId: string): Promise<Member | undefined> {
  const row = await db('members').where({ account_id: accountId, slack_user_id: slackUserId }).first();
  return row ? toMember(row) : undefined;
}

/** The account's active AccountAdmins who can act (not deactivated in Slack), as a query. */
function usableAdmins(db: Db, accountId: number) {
  return db('members')
    .where({ account_id: accountId, status: 'active', role: 'AccountAdmin' })
    .whereNull('slack_deactivated_at');
}

/**
 * Active AccountAdmins who can act (not deactivated in Slack), other than `except`: the
 * last-admin rule asks whether any would be left after a change to `except`.
 */
export async function countUsableAdmins(db: Db, accountId: number, except?: string): Promise<number> {
  const query = usableAdmins(db, accountId);
  if (except !== undefined) query.whereNot({ slack_user_id: except });
  const row = await query.count<{ n: number }>({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/**
 * Whether a person can act as an AccountAdmin of the account now: active, AccountAdmin, and not
 * deactivated in Slack. The authority a registration link carries is its maker's, checked at use.
 */
export async function canAdminister(db: Db, accountId: number, slackUserId: string): Promise<boolean> {
  return (await usableAdmins(db, accountId).where({ slack_user_id: slackUserId }).first('id')) !== undefined;
}

/** Whether Slack said this person is deactivated (member or not), and has not reactivated them since. */
export async function deactivatedInSlack(db: Db, accountId: number, slackUserId: string): Promise<boolean> {
  const row = await db('slack_deactivations').where({ account_id: accountId, slack_user_id: slackUserId }).first();
  return row !== undefined;
}

/** The actor as an active AccountAdmin of the account, or why they are not one. */
export async function authorizeAdmin(
  db: Db,
  actor: Actor,
): Promise<{ ok: true; member: Member } | Refused<'not_member' | 'not_admin'>> {
  const member = await findMember(db, actor.accountId, actor.slackUserId);
  const active = member?.status === 'active' ? member : undefined;
  return adminRefusal(active?.role) ?? { ok: true, member: active as Member };
}

export interface AuditRecord {
  accountId: number;
  actor: string;
  action: AuditAction;
  source: AuditSource;
  targetSlackUserId?: string | null;
  targetInviteId?: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  at: Date;
}

export async function recordAudit(db: Db, entry: AuditRecord): Promise<void> {
  await db('audit_log').insert({
    account_id: entry.accountId,
    actor: entry.actor,
    action: entry.action,
    source: entry.source,
    target_slack_user_id: entry.targetSlackUserId ?? null,
    target_invite_id: entry.targetInviteId ?? null,
    before: entry.before ? JSON.stringify(entry.before) : null,
    after: entry.after ? JSON.stringify(entry.after) : null,
    created_at: entry.at,
  });
}

/** A refusal repeated within this time is not recorded again. */
export const REFUSAL_QUIET_MS = 60_000;

/**
 * Something a person was not allowed to do, in the audit log (`access.refused`). Recorded once
 * a minute at most per person and operation, so repeating a refused attempt does not flood it.
 */
export async function recordRefusal(
  knex: Knex,
  actor: Actor,
  attempt: { operation: string; reason: string; inviteId?: string; invitee?: string | null },
  at: Date,
): Promise<void> {
  await inTransaction(knex, async (trx) => {
    // One writer at a time per person and operation (any process): the check below then sees
    // the row a refusal just before this one wrote, so a quick repeat is not recorded twice.
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [
      `refusal:${actor.accountId}:${actor.slackUserId}:${attempt.operation}`,
    ]);
    await trx.raw(
      `INSERT INTO audit_log (account_id, actor, action, source, target_slack_user_id, target_invite_id, after, created_at)
       SELECT :account, :actor, 'access.refused', :source, :invitee, :invite, CAST(:after AS jsonb), :at
       WHERE NOT EXISTS (
         SELECT 1 FROM audit_log
         WHERE account_id = :account AND actor = :actor AND action = 'access.refused'
           AND created_at > :since AND after->>'operation' = :operation
           AND target_invite_id IS NOT DISTINCT FROM :invite)`,
      {
        account: actor.accountId,
        actor: actor.slackUserId,
        source: actor.source,
        invitee: attempt.invitee ?? null,
        invite: attempt.inviteId ?? null,
        after: JSON.stringify({ operation: attempt.operation, reason: attempt.reason }),
        at,
        since: new Date(at.getTime() - REFUSAL_QUIET_MS),
        operation: attempt.operation,
      },
    );
  });
}

/**
 * Ends the invites that could still be used and that were made by, or are for, one person:
 * the authority behind them ended. Returns their ids; used-up and expired ones keep their story.
 */
export async function endInvites(
  trx: Knex.Transaction,
  accountId: number,
  whose: { createdBy: string } | { forSlackUserId: string },
  reason: RevokeReason,
  by: { actor: string; at: Date },
): Promise<string[]> {
  const where = 'createdBy' in whose ? { created_by: whose.createdBy } : { for_slack_user_id: whose.forSlackUserId };
  const ended: Array<{ id: string }> = await trx('invites')
    .where({ account_id: accountId, ...where })
    .whereRaw(usableInvite('invites', '?'), [by.at])
    .update({ revoked_at: by.at, revoked_by: by.actor, revoke_reason: reason })
    .returning('id');
  return ended.map((r) => r.id);
}

/**
 * Soft-deletes an active member, with its audit entry: one place for a removal by an admin and
 * by Slack (a deactivation). What their access carried ends with it: the links they made, and
 * any invite still addressed to them (they may have joined another way).
 */
export async function removeMember(
  trx: Knex.Transaction,
  member: Member,
  by: { actor: string; source: AuditSource; at: Date; deactivatedInSlack?: boolean },
): Promise<{ row: Row; revokedInvites: string[]; invitesForThem: string[] }> {
  const [row] = await trx('members')
    .where({ id: member.id })
    .update({
      status: 'removed',
      removed_at: by.at,
      removed_by: by.actor,
      slack_deactivated_at: null,
      updated_at: by.at,
    })
    .returning('*');
  const revokedInvites = await endInvites(
    trx,
    member.accountId,
    { createdBy: member.slackUserId },
    'inviter_removed',
    by,
  );
  const invitesForThem = await endInvites(
    trx,
    member.accountId,
    { forSlackUserId: member.slackUserId },
    by.deactivatedInSlack ? 'invitee_deactivated' : 'invitee_removed',
    by,
  );
  await recordAudit(trx, {
    accountId: member.accountId,
    actor: by.actor,
    action: 'member.removed',
    source: by.source,
    targetSlackUserId: member.slackUserId,
    before: { status: 'active', role: member.role },
    after: {
      status: 'removed',
      revokedInvites,
      ...(invitesForThem.length ? { revokedInvitesForThem: invitesForThem } : {}),
      ...(by.deactivatedInSlack ? { deactivatedInSlack: true } : {}),
    },
    at: by.at,
  });
  return { row: row as Row, revokedInvites, invitesForThem };
}

/**
 * Makes a person an active AccountAdmin (registering them if they never were a member), with
 * its audit entry: for the operator's INITIAL_ADMINS and for whoever installs the app.
 */
export async function grantAdmin(
  trx: Knex.Transaction,
  accountId: number,
  person: { slackUserId: string } & Profile,
  by: { actor: string; source: AuditSource; at: Date },
): Promise<void> {
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
      registered_at: by.at,
      updated_at: by.at,
    })
    .onConflict(['account_id', 'slack_user_id'])
    .merge({
      role: 'AccountAdmin',
      status: 'active',
      removed_at: null,
      removed_by: null,
      slack_deactivated_at: null,
      updated_at: by.at,
    });
  await recordAudit(trx, {
    accountId,
    actor: by.actor,
    action: 'member.bootstrapped',
    source: by.source,
    targetSlackUserId: person.slackUserId,
    before: before ? { status: before.status, role: before.role } : null,
    after: { status: 'active', role: 'AccountAdmin' },
    at: by.at,
  });
}
