import type { Knex } from 'knex';
import { toAccount, toMember } from './store.js';
import type { Account, Member } from './types.js';

export interface ActorContext {
  account: Account;
  /** The person's member record (active or removed), or null if they never registered. */
  member: Member | null;
}

export class AccountService {
  constructor(private readonly deps: { knex: Knex }) {}

  /** The account of a Slack workspace, made on first sight; its name kept up to date. */
  async ensureWorkspace(workspace: {
    teamId: string;
    enterpriseId?: string | null;
    name?: string | null;
  }): Promise<Account> {
    const { rows } = await this.deps.knex.raw(
      `INSERT INTO accounts (slack_team_id, slack_enterprise_id, is_enterprise_install, name)
       VALUES (?, ?, false, ?)
       ON CONFLICT (slack_team_id) WHERE NOT is_enterprise_install
       DO UPDATE SET name = COALESCE(EXCLUDED.name, accounts.name),
                     slack_enterprise_id = COALESCE(EXCLUDED.slack_enterprise_id, accounts.slack_enterprise_id),
                     updated_at = now()
       RETURNING *`,
      [workspace.teamId, workspace.enterpriseId ?? null, workspace.name ?? null],
    );
    return toAccount(rows[0]);
  }

  async findWorkspace(teamId: string): Promise<Account | undefined> {
    const row = await this.deps.knex('accounts').where({ slack_team_id: teamId, is_enterprise_install: false }).first();
    return row ? toAccount(row) : undefined;
  }

  async get(accountId: number): Promise<Account | undefined> {
    const row = await this.deps.knex('accounts').where({ id: accountId }).first();
    return row ? toAccount(row) : undefined;
  }

  /** Who is asking, in one round trip: the account and the person's membership in it. */
  async resolveActor(accountId: number, slackUserId: string): Promise<ActorContext | undefined> {
    const row = await this.deps
      .knex('accounts as a')
      .leftJoin('members as m', (join) => {
        join.on('m.account_id', '=', 'a.id').andOn('m.slack_user_id', '=', this.deps.knex.raw('?', [slackUserId]));
      })
      .where('a.id', accountId)
      .select(this.deps.knex.raw('row_to_json(a.*) as account, row_to_json(m.*) as member'))
      .first();
    if (!row) return undefined;
    const member = row.member ? toMember(reviveDates(row.member)) : null;
    return { account: toAccount(row.account), member };
  }
}

/** row_to_json gives timestamps as text; the mappers expect Dates. */
function reviveDates(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const key of ['registered_at', 'removed_at', 'updated_at']) {
    if (typeof out[key] === 'string') out[key] = new Date(out[key] as string);
  }
  return out;
}
