import type { Knex } from 'knex';
import { usableAdminSql } from './checks.js';
import { coalescedRows, type Db, prepared } from './db.js';
import { ACCOUNT_COLUMNS, jsonColumns, MEMBER_COLUMNS, type Row, rowOf, toAccount, toMember } from './rows.js';
import type { Account, Member } from './types.js';

export interface ActorContext {
  account: Account;
  /** The person's member record (active or removed), or null if they never registered. */
  member: Member | null;
  /** True while the account has AccountAdmins but none who can act (all deactivated in Slack). */
  noUsableAdmin: boolean;
}

/** Who asks, as columns over `a` (their account, null when none) and `m` (their member row). */
export const ACTOR_COLUMNS = `CASE WHEN a.id IS NULL THEN NULL ELSE ${jsonColumns('a', ACCOUNT_COLUMNS)} END AS account,
    CASE WHEN m.id IS NULL THEN NULL ELSE ${jsonColumns('m', MEMBER_COLUMNS)} END AS member,
    (NOT EXISTS (SELECT 1 FROM members x WHERE x.account_id = a.id AND ${usableAdminSql('x')})
     AND EXISTS (SELECT 1 FROM members y WHERE y.account_id = a.id AND y.role = 'AccountAdmin'
                 AND y.status = 'active' AND y.slack_deactivated_at IS NOT NULL)) AS no_usable_admin`;

/** Who asks, for each (account, person) pair asked for: one row per pair, in order (`n`). */
const RESOLVE_ACTORS = `SELECT asked.n, ${ACTOR_COLUMNS}
  FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS asked(account_id, slack_user_id, n)
  LEFT JOIN accounts a ON a.id = asked.account_id
  LEFT JOIN members m ON m.account_id = a.id AND m.slack_user_id = asked.slack_user_id
  ORDER BY asked.n`;

/** An ActorContext from a row of ACTOR_COLUMNS; undefined when there is no account. */
export function actorContextOf(row: Record<string, unknown> | undefined): ActorContext | undefined {
  if (!row?.account) return undefined;
  return {
    account: toAccount(rowOf(ACCOUNT_COLUMNS, row.account as unknown[])),
    member: row.member ? toMember(rowOf(MEMBER_COLUMNS, row.member as unknown[])) : null,
    noUsableAdmin: row.no_usable_admin === true,
  };
}

const ACCOUNT_FOR_WORKSPACE = `SELECT * FROM accounts
  WHERE slack_team_id = $1::text AND NOT is_enterprise_install LIMIT 1`;
const ACCOUNT_FOR_ORG = `SELECT * FROM accounts
  WHERE slack_enterprise_id = $1::text AND is_enterprise_install LIMIT 1`;

/**
 * The account of a workspace (or, for an org-wide install, of an Enterprise Grid org), made on
 * first sight; its name kept up to date.
 */
export async function ensureAccount(
  db: Db,
  workspace: {
    teamId?: string | null;
    enterpriseId?: string | null;
    isEnterpriseInstall: boolean;
    name?: string | null;
  },
): Promise<{ account: Account; created: boolean }> {
  // xmax is 0 on a row this statement inserted, and not on one it updated (made before, even by
  // a transaction that committed while this one waited on the conflict).
  const { rows } = workspace.isEnterpriseInstall
    ? await db.raw(
        `INSERT INTO accounts (slack_team_id, slack_enterprise_id, is_enterprise_install, name)
         VALUES (NULL, ?, true, ?)
         ON CONFLICT (slack_enterprise_id) WHERE is_enterprise_install
         DO UPDATE SET name = COALESCE(EXCLUDED.name, accounts.name), updated_at = now()
         RETURNING *, (xmax = 0) AS created`,
        [workspace.enterpriseId ?? null, workspace.name ?? null],
      )
    : await db.raw(
        `INSERT INTO accounts (slack_team_id, slack_enterprise_id, is_enterprise_install, name)
         VALUES (?, ?, false, ?)
         ON CONFLICT (slack_team_id) WHERE NOT is_enterprise_install
         DO UPDATE SET name = COALESCE(EXCLUDED.name, accounts.name),
                       slack_enterprise_id = COALESCE(EXCLUDED.slack_enterprise_id, accounts.slack_enterprise_id),
                       updated_at = now()
         RETURNING *, (xmax = 0) AS created`,
        [workspace.teamId ?? null, workspace.enterpriseId ?? null, workspace.name ?? null],
      );
  return { account: toAccount(rows[0]), created: rows[0].created === true };
}

export class AccountService {
  /** Who asks, read for every request that asked in the same turn of the event loop at once. */
  private readonly actors: (asked: { accountId: number; slackUserId: string }) => Promise<Row | undefined>;

  constructor(private readonly deps: { knex: Knex }) {
    this.actors = coalescedRows(deps.knex, 'resolve_actors', RESOLVE_ACTORS, (keys) => [
      keys.map((k) => k.accountId),
      keys.map((k) => k.slackUserId),
    ]);
  }

  /** The account of a Slack workspace, made on first sight; its name kept up to date. */
  async ensureWorkspace(workspace: {
    teamId: string;
    enterpriseId?: string | null;
    name?: string | null;
  }): Promise<Account> {
    return (await ensureAccount(this.deps.knex, { ...workspace, isEnterpriseInstall: false })).account;
  }

  /**
   * The account serving a Slack request from `teamId` (in Enterprise Grid org `enterpriseId`):
   * the org's, when the app is installed org-wide, else the workspace's. Never made here.
   */
  async findForSlack(
    teamId: string | undefined,
    enterpriseId: string | undefined,
    isEnterpriseInstall: boolean,
  ): Promise<Account | undefined> {
    // Slack says in each request whether the app that serves it is installed org-wide; an org's
    // old account is not used for a workspace that installed the app itself after the org's
    // install was removed, nor the other way round.
    const [name, sql, id] = isEnterpriseInstall
      ? ['account_for_org', ACCOUNT_FOR_ORG, enterpriseId]
      : ['account_for_workspace', ACCOUNT_FOR_WORKSPACE, teamId];
    if (!id) return undefined;
    const [row] = await prepared(this.deps.knex, name, sql, [id]);
    return row ? toAccount(row) : undefined;
  }

  /** An account by its id. */
  async get(accountId: number): Promise<Account | undefined> {
    const row = await this.deps.knex('accounts').where({ id: accountId }).first();
    return row ? toAccount(row) : undefined;
  }

  /**
   * Who is asking: the account and the person's membership in it, read now (in one round trip
   * shared with the other requests of this turn of the event loop; never kept).
   */
  async resolveActor(accountId: number, slackUserId: string): Promise<ActorContext | undefined> {
    return actorContextOf(await this.actors({ accountId, slackUserId }));
  }
}
