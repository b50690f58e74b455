// The checks every operation makes: who is an admin (in SQL and in TypeScript), the account
// lock, the last-admin count, what makes an invite usable.
import type { Knex } from 'knex';
import { type Db, together } from './db.js';
import { jsonRows, type Row, rowsOf, toAccount, toMember } from './rows.js';
import { type Account, type Actor, isAdmin, type Member, type Refused, refuse } from './types.js';

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
  if (!isAdmin(role)) return refuse('not_admin');
  return undefined;
}

/**
 * An AccountAdmin-only read in one round trip: the service's own check of the actor ($1
 * account, $2 Slack user) and the `columns` of the rows of `chunk`, a query that may use `me`
 * and `$3`… `also`: more values of the same statement, each a scalar SQL expression by name,
 * computed only when the actor is an admin and given back in `also`. The reads of the same
 * statement asked for in one turn go as one (`together`).
 */
export async function readAsAdmin(
  knex: Knex,
  name: string,
  chunk: string,
  columns: readonly string[],
  order: string,
  actor: Actor,
  values: unknown[],
  also: Record<string, string> = {},
): Promise<{ ok: true; rows: Row[]; also: Record<string, unknown> } | Refused<'not_member' | 'not_admin'>> {
  const more = Object.entries<string>(also).map(([as, sql]) => `, CASE WHEN ${IS_ADMIN_SQL} THEN ${sql} END AS ${as}`);
  const sql = `WITH ${ME_SQL},
    chunk AS (${chunk})
    SELECT (SELECT role FROM me) AS actor_role,
      ${jsonRows('chunk', columns, order)} AS rows${more.join('')}`;
  const row = await together(knex, name, sql, [actor.accountId, actor.slackUserId, ...values]);
  const refused = adminRefusal(row?.actor_role as string | null | undefined);
  if (refused) return refused;
  const given = Object.fromEntries(Object.keys(also).map((as) => [as, row?.[as]]));
  return { ok: true, rows: rowsOf(columns, row?.rows), also: given };
}

/** How many access requests of the account ($1) wait for an admin, as a scalar SQL expression. */
export const OPEN_REQUESTS_SQL =
  "(SELECT count(*)::int FROM access_requests r WHERE r.account_id = $1 AND r.status = 'open')";

/** The rule for an invite that can still be used, in SQL: `now` is the placeholder for the time. */
export function usableInvite(table: string, now: string): string {
  return `${table}.revoked_at IS NULL AND ${table}.expires_at > ${now} AND (${table}.max_uses IS NULL OR ${table}.uses < ${table}.max_uses)`;
}

/**
 * Locks the account row for the rest of the transaction. Every change that could affect who
 * administers an account takes this lock first, so two admins acting at the same instant,
 * from any number of processes, are serialised by the database.
 */
export async function lockAccount(trx: Knex.Transaction, accountId: number): Promise<Account | undefined> {
  // NO KEY UPDATE: lockers still queue one behind another, but rows that only reference the
  // account (an audit entry, an access request) are written meanwhile (FOR UPDATE blocked them).
  const row = await trx('accounts').where({ id: accountId }).forNoKeyUpdate().first();
  return row ? toAccount(row) : undefined;
}

/**
 * The preamble of every admin change: the account's lock, then the actor's check under it (a
 * demotion that committed a moment ago is seen). The locked account comes back with the admin.
 */
export async function lockAsAdmin(
  trx: Knex.Transaction,
  actor: Actor,
): Promise<{ ok: true; account: Account; me: Member } | Refused<'not_member' | 'not_admin'>> {
  const account = await lockAccount(trx, actor.accountId);
  const auth = await authorizeAdmin(trx, actor);
  if (!auth.ok) return auth;
  if (!account) return refuse('not_member');
  return { ok: true, account, me: auth.member };
}

export async function findMember(db: Db, accountId: number, slackUserId: string): Promise<Member | undefined> {
  const row = await db('members').where({ account_id: accountId, slack_user_id: slackUserId }).first();
  return row ? toMember(row) : undefined;
}

/** `alias`'s member row is an active AccountAdmin who can act (not deactivated in Slack), in SQL. */
export function usableAdminSql(alias: string): string {
  return `(${alias}.status = 'active' AND ${alias}.role = 'AccountAdmin' AND ${alias}.slack_deactivated_at IS NULL)`;
}

/** The account's active AccountAdmins who can act (not deactivated in Slack), as a query. */
function usableAdmins(db: Db, accountId: number) {
  return db('members').where({ account_id: accountId }).whereRaw(usableAdminSql('members'));
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
 * The last-admin rule: whether taking `member`'s admin role away (a demotion, a removal, Slack
 * deactivating them) would leave the account with no AccountAdmin who can act.
 */
export async function isLastAdmin(db: Db, member: Member): Promise<boolean> {
  return isAdmin(member.role) && (await countUsableAdmins(db, member.accountId, member.slackUserId)) === 0;
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
