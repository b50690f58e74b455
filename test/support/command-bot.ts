// `/chatbees-users …` under test: one bot for a describe block (single-workspace mode, UADMIN1 its
// first AccountAdmin) and what the tests do with it: make people, run commands, read what changed.
import { type BotUnderTest, botUnderTest } from './bot.js';
import type { BackendUnderTest } from './databases.js';
import { insertMembers } from './fixtures.js';
import { type SlackStandIn, waitFor } from './slack-stand-in.js';

/** The registration link in a DM or an answer. */
export const registrationUrlIn = (text: string) =>
  /<(https:\/\/bees\.example\.test\/register\/[^|>]+)\|/.exec(text)?.[1];

/** The bot on a database of `backend`, started before the tests and stopped after them; nothing is reset between tests. */
export function commandBot(backend: BackendUnderTest) {
  const t: BotUnderTest = botUnderTest(() => backend.open(), {
    users: ['UADMIN1'],
    env: { INITIAL_ADMINS: 'UADMIN1' },
  });

  let counter = 0;
  /** A fresh person known to Slack: AccountUser, unregistered, or whatever the test makes them. */
  function person(extra: Parameters<SlackStandIn['addUser']>[0] extends infer T ? Partial<T> : never = {}): string {
    counter += 1;
    const id = `UP${String(counter).padStart(6, '0')}`;
    t.standIn.addUser({ id, name: `person${counter}`, ...extra });
    return id;
  }
  async function member(role: 'AccountAdmin' | 'AccountUser' = 'AccountUser'): Promise<string> {
    const id = person();
    await insertMembers(t.db.knex, t.running.account, [{ slackUserId: id, role, displayName: id.toLowerCase() }]);
    return id;
  }

  /** Runs a command; `followUp` waits for the answer posted to its response_url. */
  async function run(user: string, text: string, headers: Record<string, string> = {}) {
    const body = t.running.slack.commandBody(user, text);
    const responseUrl = body.get('response_url') as string;
    const ack = await t.running.slack.post(body.toString(), headers);
    const id = responseUrl.split('/').pop();
    const followUps = () => t.standIn.responseUrlPosts.filter((p) => p.id === id);
    return {
      ack,
      ackText: String(ack.json?.text ?? ''),
      body,
      followUps,
      followUp: async () => String((await waitFor(() => followUps()[0], 5_000, `answer to "${text}"`)).body.text ?? ''),
    };
  }

  const activeMember = (id: string) =>
    t.db.knex('members').where({ account_id: t.running.account.id, slack_user_id: id }).first();
  const auditRows = () => t.db.knex('audit_log').where({ account_id: t.running.account.id }).orderBy('id');
  const invitesFor = (id: string) =>
    t.db.knex('invites').where({ account_id: t.running.account.id, for_slack_user_id: id }).orderBy('created_at');

  return { t, person, member, run, activeMember, auditRows, invitesFor };
}
