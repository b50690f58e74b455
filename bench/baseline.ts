// The floor: a bare Bolt app of the same version whose only listener acks the command.
// With BASELINE_DATABASE_URL it first reads the caller's member row (one prepared query on the
// same pg driver): the floor for a command that needs one database round trip.
// With BASELINE_SEARCH as well, `list <text>` runs the bot's own search instead (the domain's
// `listMembers`: one statement, on the bot's database settings) and answers the count and the
// names in one line: the floor for a search answered through Bolt. What the bot adds to it is
// its Slack surface: who asks, the permission check, the blocks (`npm run bench:search`).
import { App, HTTPReceiver } from '@slack/bolt';
import pg from 'pg';
import type { Services } from '../src/services/index.js';

const url = process.env.BASELINE_DATABASE_URL;
const pool = url ? new pg.Pool({ connectionString: url, max: 10 }) : undefined;
// The bot's modules are loaded for the search only: bare Bolt's process holds Bolt and pg alone.
// A search by text reads nothing of the services but their database.
const search =
  url && process.env.BASELINE_SEARCH
    ? {
        services: { knex: (await import('../src/db/database.js')).openPostgres(url).knex } as Services,
        listMembers: (await import('../src/services/operations/list-members.js')).listMembers,
      }
    : undefined;
const receiver = new HTTPReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET ?? '' });
// botId and botUserId given: Bolt makes no auth.test call.
const app = new App({ receiver, token: 'xoxb-baseline', botId: 'B0', botUserId: 'U0', convoStore: false });
const accounts = new Map<string, number>();
app.command('/chatbees-users', async ({ ack, body }) => {
  if (!pool) return ack();
  let account = accounts.get(body.team_id);
  if (account === undefined) {
    const found = await pool.query('SELECT id FROM accounts WHERE slack_team_id = $1', [body.team_id]);
    account = Number(found.rows[0]?.id);
    accounts.set(body.team_id, account);
  }
  const text = body.text.match(/^list (.+)$/)?.[1];
  if (search && text) {
    const actor = { accountId: account, slackUserId: body.user_id, source: 'slash_command' as const };
    const page = await search.listMembers(search.services, actor, { limit: 25, filter: { text } });
    if (!page.ok) return ack(`Refused: ${page.reason}`);
    return ack(`${page.total} found: ${page.members.map((m) => m.displayName).join(', ')}`);
  }
  // The same index the bot uses: a member by account and Slack user.
  const { rows } = await pool.query({
    name: 'member',
    text: `SELECT role FROM members WHERE account_id = $1 AND slack_user_id = $2 AND status = 'active'`,
    values: [account, body.user_id],
  });
  await ack(`You are ${rows[0]?.role ?? 'not registered'}`);
});
await app.start(Number(process.env.PORT));
console.log('baseline ready');
