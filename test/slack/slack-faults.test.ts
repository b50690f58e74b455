// When Slack's Web API answers 429 or 5xx: bounded retries, nothing lost (the change is
// stored first), the admin told what did not reach the person, and acks never late.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BUTTONS } from '../../src/slack/operations.js';
import { type RunningBot, startTestBot } from '../support/bot.js';
import { openPgliteTestDatabase, type TestDatabase } from '../support/databases.js';
import { insertMembers } from '../support/fixtures.js';
import { SlackStandIn, waitFor } from '../support/slack-stand-in.js';

describe('Slack API faults', () => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let running: RunningBot;
  let n = 0;

  beforeAll(async () => {
    db = await openPgliteTestDatabase();
    standIn = await new SlackStandIn().start();
    standIn.addUser({ id: 'UADMIN1' });
    running = await startTestBot({ db, standIn, env: { INITIAL_ADMINS: 'UADMIN1' } });
  });
  afterAll(async () => {
    await running?.stop();
    await standIn?.stop();
    await db?.close();
  });
  beforeEach(() => standIn.clearFaults());

  function person(): string {
    n += 1;
    const id = `UF${String(n).padStart(6, '0')}`;
    standIn.addUser({ id });
    return id;
  }

  async function invite(user: string) {
    const body = running.slack.commandBody('UADMIN1', `invite <@${user}>`);
    const started = Date.now();
    const ack = await running.slack.post(body.toString());
    const ackMs = Date.now() - started;
    const id = (body.get('response_url') as string).split('/').pop();
    const answer = await waitFor(() => standIn.responseUrlPosts.find((p) => p.id === id), 20_000, 'the invite answer');
    return { ack, ackMs, answer: String(answer.body.text), elapsedMs: Date.now() - started };
  }

  const invites = (user: string) => db.knex('invites').where({ for_slack_user_id: user });

  it('waits out a short Retry-After and delivers the DM', async () => {
    const p = person();
    standIn.fail('chat.postMessage', { status: 429, retryAfter: 1 });
    const { answer } = await invite(p);
    expect(answer).toContain(`:white_check_mark: <@${p}> — invited; registration link sent by DM`);
    expect(standIn.dmsTo(p)).toHaveLength(2); // the refused one and the retry
  });

  it('does not wait out a long Retry-After: the admin gets the link, the invite is stored', async () => {
    const p = person();
    standIn.fail('chat.postMessage', { status: 429, retryAfter: 30 });
    const { answer, elapsedMs } = await invite(p);
    expect(elapsedMs).toBeLessThan(10_000);
    expect(answer).toContain(
      `:warning: <@${p}> — invited, but I could not DM them (rate limited by Slack (retry in 30s))`,
    );
    expect(answer).toMatch(/\/register\/ey/);
    expect(await invites(p)).toHaveLength(1);
  });

  it('retries 5xx answers a bounded number of times', async () => {
    const p = person();
    standIn.fail('chat.postMessage', { status: 500, times: 2 });
    const { answer } = await invite(p);
    expect(answer).toContain(`:white_check_mark: <@${p}>`);
    expect(standIn.dmsTo(p)).toHaveLength(3);

    const q = person();
    standIn.fail('chat.postMessage', { status: 503, times: 10 });
    const failed = await invite(q);
    expect(failed.answer).toContain(`:warning: <@${q}> — invited, but I could not DM them (Slack answered HTTP 503)`);
    expect(standIn.dmsTo(q)).toHaveLength(3); // one try and two retries, then it gives up
    expect(await invites(q)).toHaveLength(1);
  });

  it('acks at once even when Slack is slow', async () => {
    const p = person();
    standIn.fail('chat.postMessage', { delayMs: 3_000 });
    const { ack, ackMs, answer } = await invite(p);
    expect(ack.status).toBe(200);
    expect(ackMs).toBeLessThan(1_000);
    expect(answer).toContain(`:white_check_mark: <@${p}>`);
  });

  it('keeps a role change and tells the admin when the member could not be told', async () => {
    const p = person();
    await insertMembers(db.knex, running.account, [{ slackUserId: p }]);
    standIn.fail('conversations.open', { status: 500, times: 10 });
    const body = running.slack.commandBody('UADMIN1', `role <@${p}> admin`);
    await running.slack.post(body.toString());
    const id = (body.get('response_url') as string).split('/').pop();
    const answer = await waitFor(() => standIn.responseUrlPosts.find((r) => r.id === id), 20_000);
    expect(String(answer.body.text)).toMatch(
      /is now an \*AccountAdmin\*\. I could not tell them by DM \(Slack answered HTTP 500\)/,
    );
    expect((await db.knex('members').where({ slack_user_id: p }).first()).role).toBe('AccountAdmin');
  });

  it('retries views.open after a 5xx, and says so when the console cannot open', async () => {
    standIn.fail('views.open', { status: 502 });
    const opened = standIn.callsTo('views.open').length;
    const ack = await running.slack.command('UADMIN1', '');
    expect(ack.status).toBe(200);
    await waitFor(() => standIn.callsTo('views.open').length === opened + 2, 10_000, 'the retried views.open');

    standIn.fail('views.open', { status: 429, retryAfter: 60 });
    const body = running.slack.commandBody('UADMIN1', '');
    await running.slack.post(body.toString());
    const id = (body.get('response_url') as string).split('/').pop();
    const answer = await waitFor(() => standIn.responseUrlPosts.find((r) => r.id === id), 10_000);
    expect(String(answer.body.text)).toMatch(/I could not open the console \(rate limited by Slack \(retry in 60s\)\)/);
  });

  it('DMs the admin the outcome of a console change when the console cannot be updated', async () => {
    const p = person();
    await insertMembers(db.knex, running.account, [{ slackUserId: p }]);
    standIn.fail('views.update', { status: 500, times: 10 });
    const before = standIn.dmsTo('UADMIN1').length;
    await running.slack.blockAction(
      'UADMIN1',
      { action_id: BUTTONS.setRole, value: `${p}|AccountAdmin` },
      { view: { id: 'VCONSOLE1', hash: 'h' } },
    );
    const dm = await waitFor(() => standIn.dmsTo('UADMIN1')[before], 20_000, 'the DM to the admin');
    expect(String(dm.params.text)).toMatch(
      new RegExp(
        `<@${p}> is now an \\*AccountAdmin\\*.*\\n\\(I could not update the console: Slack answered HTTP 500\\.\\)`,
      ),
    );
    expect((await db.knex('members').where({ slack_user_id: p }).first()).role).toBe('AccountAdmin');
  });
});
