// Where access requests go, end to end: a requests channel an admin chooses (the app must be in
// it), ACCESS_REQUESTS_CHANNEL as the default, back to DMs with `off`; and `requests`, the list of
// open ones with Approve and Deny.
import { beforeEach, describe, expect, it } from 'vitest';
import { BUTTONS } from '../../src/slack/operations.js';
import { type BotUnderTest, botUnderTest, resetAccount } from '../support/bot.js';
import { backends } from '../support/databases.js';
import { type Call, waitFor } from '../support/slack-stand-in.js';

const USERS = ['UADMIN1', 'UADMIN2', 'UBOB', 'UCAROL', 'UDAN'];
const MEMBERS = [
  { slackUserId: 'UADMIN1', role: 'AccountAdmin' as const, displayName: 'Ada' },
  { slackUserId: 'UADMIN2', role: 'AccountAdmin' as const, displayName: 'Cleo' },
  { slackUserId: 'UCAROL', role: 'AccountUser' as const, displayName: 'Carol' },
];

/** `user` runs `/chatbees-users <text>`; resolves with the answer (the ack's, or response_url's). */
async function answerTo(t: BotUnderTest, user: string, text: string): Promise<string> {
  const before = t.standIn.responseUrlPosts.length;
  const ack = await t.running.slack.command(user, text);
  if (typeof ack.json?.text === 'string' && ack.json.text.length > 0) return ack.json.text;
  const post = await waitFor(() => t.standIn.responseUrlPosts[before], 5_000, `the answer to ${text}`);
  return String(post.body.text);
}

describe.each(backends)('the requests channel on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), { users: USERS });
  beforeEach(async () => {
    await t.db.knex('access_requests').del();
    await t.db.knex('accounts').update({ requests_channel: null });
    await resetAccount(t.running, t.db, t.standIn, MEMBERS);
  });

  const run = (user: string, text: string) => answerTo(t, user, text);
  const postsIn = (channel: string, since: number): Call[] =>
    t.standIn.calls.slice(since).filter((c) => c.method === 'chat.postMessage' && c.params.channel === channel);

  it('an admin chooses a channel: a line is posted there, requests go there (not by DM), and an AccountUser pressing Approve in it is refused', async () => {
    let since = t.standIn.calls.length;
    expect(await run('UADMIN1', 'requests channel <#CREQS01|access-requests>')).toBe(
      ':white_check_mark: Access requests go to <#CREQS01>, where any AccountAdmin can approve or deny them.',
    );
    const line = postsIn('CREQS01', since);
    expect(line).toHaveLength(1);
    expect(String(line[0]?.params.text)).toContain('<@UADMIN1> chose this channel for access requests');
    const audit = await t.db.knex('audit_log').where({ action: 'access.requests_channel' });
    expect(audit).toHaveLength(1);
    expect(audit[0].after).toMatchObject({ channel: 'CREQS01' });

    since = t.standIn.calls.length;
    expect(await run('UBOB', 'request for the reports')).toBe(
      'Asked: the AccountAdmins have your request. You will hear here when it is decided.',
    );
    const copy = await waitFor(() => postsIn('CREQS01', since)[0], 5_000, 'the request in the channel');
    expect(String(copy.params.text)).toContain('<@UBOB> asks for access');
    expect(JSON.stringify(copy.params.blocks)).toContain(BUTTONS.approveRequest);
    expect(t.standIn.dmsTo('UADMIN1')).toHaveLength(0);
    expect(t.standIn.dmsTo('UADMIN2')).toHaveLength(0);
    const request = await t.db.knex('access_requests').where({ slack_user_id: 'UBOB' }).first();

    // Anyone in the channel sees the buttons; only an active AccountAdmin's press counts.
    const pressIn = (user: string) =>
      t.running.slack.blockAction(
        user,
        { action_id: BUTTONS.approveRequest, value: String(request.id) },
        {},
        { container: { type: 'message', channel_id: 'CREQS01', message_ts: String(copy.response?.ts ?? '1.1') } },
      );
    const answered = t.standIn.responseUrlPosts.length;
    await pressIn('UCAROL');
    const refused = await waitFor(() => t.standIn.responseUrlPosts[answered], 5_000, "Carol's refusal");
    expect(String(refused.body.text)).toMatch(/needs the AccountAdmin role/);
    await pressIn('UDAN');
    const stranger = await waitFor(() => t.standIn.responseUrlPosts[answered + 1], 5_000, "Dan's refusal");
    expect(String(stranger.body.text)).toMatch(/not registered/);
    expect((await t.db.knex('access_requests').where({ id: request.id }).first()).status).toBe('open');

    since = t.standIn.calls.length;
    await pressIn('UADMIN2');
    const updated = await waitFor(
      () => t.standIn.calls.slice(since).find((c) => c.method === 'chat.update' && c.params.channel === 'CREQS01'),
      5_000,
      'the copy in the channel changed',
    );
    expect(String(updated.params.text)).toContain("<@UBOB>'s access request: approved by <@UADMIN2>");
    await waitFor(() => t.standIn.dmsTo('UBOB').length === 1, 5_000, 'Bob told');
    expect((await t.db.knex('members').where({ slack_user_id: 'UBOB' }).first()).status).toBe('active');
  });

  it('a channel the app is not in is refused with what to do, and nothing changes', async () => {
    t.standIn.fail('chat.postMessage', { error: 'not_in_channel' });
    const answer = await run('UADMIN1', 'requests channel <#CNOTIN1|>');
    expect(answer).toMatch(/^The app is not in that channel.*\/invite @ChatBees Users/);
    expect((await t.db.knex('accounts').first()).requests_channel).toBeNull();
    expect(await t.db.knex('audit_log').where({ action: 'access.requests_channel' })).toHaveLength(0);
    t.standIn.fail('chat.postMessage', { error: 'channel_not_found' });
    expect(await run('UADMIN1', 'requests channel GPRIVATE1')).toMatch(/^The app cannot see that channel/);
    expect((await t.db.knex('accounts').first()).requests_channel).toBeNull();
  });

  it('shows where requests go, goes back to DMs with off, and is for admins only; a bad channel is explained', async () => {
    expect(await run('UADMIN1', 'requests channel')).toMatch(
      /^Access requests go by DM to each AccountAdmin who can act \(at most 20\)\. Change it with/,
    );
    await run('UADMIN1', 'requests channel <#CREQS02|x>');
    expect(await run('UADMIN2', 'requests channel')).toMatch(/^Access requests go to <#CREQS02>, where/);
    expect(await run('UADMIN2', 'requests channel off')).toBe(
      ':white_check_mark: Access requests go by DM to each AccountAdmin who can act (at most 20).',
    );
    expect((await t.db.knex('accounts').first()).requests_channel).toBeNull();
    expect(await run('UCAROL', 'requests channel <#CREQS03|x>')).toMatch(
      /^`\/chatbees-users requests channel` needs the AccountAdmin role/,
    );
    expect((await t.db.knex('accounts').first()).requests_channel).toBeNull();
    expect(await run('UADMIN1', 'requests channel #general')).toMatch(
      /^"#general" is not a channel I can recognise: pick it from Slack's #-list/,
    );
    expect(await run('UADMIN1', 'requests frobnicate')).toMatch(/^Usage: \/chatbees-users requests or/);
  });

  it('a channel that stopped taking posts (the app removed from it): the request goes to the admins by DM', async () => {
    await run('UADMIN1', 'requests channel <#CREQS04|x>');
    t.standIn.fail('chat.postMessage', { error: 'not_in_channel' });
    expect(await run('UBOB', 'request')).toContain('2 AccountAdmins have your request');
    await waitFor(() => t.standIn.dmsTo('UADMIN1').length === 1, 5_000, "the admin's copy");
  });

  it('`requests` lists the open ones, oldest first, with Approve and Deny; Approve from the list says it is done', async () => {
    expect(await run('UADMIN1', 'requests')).toBe('No access requests are waiting in *Acme Bees*.');
    await run('UBOB', 'request first');
    await run('UDAN', 'request second');
    const ack = await t.running.slack.command('UADMIN1', 'requests');
    const text = String(ack.json?.text);
    expect(text).toMatch(
      /^\*2 access requests waiting\* in \*Acme Bees\*:\n<@UBOB>, asked .*first\n<@UDAN>, asked .*second$/s,
    );
    const blocks = JSON.stringify(ack.json?.blocks);
    const [bob, dan] = await t.db.knex('access_requests').orderBy('id');
    for (const id of [bob.id, dan.id]) {
      expect(blocks).toContain(
        `"action_id":"${BUTTONS.approveRequest}","text":{"type":"plain_text","text":"Approve"},"style":"primary","value":"${id}"`,
      );
      expect(blocks).toContain(
        `"action_id":"${BUTTONS.denyRequest}","text":{"type":"plain_text","text":"Deny"},"value":"${id}"`,
      );
    }
    expect(await run('UCAROL', 'requests')).toMatch(/^`\/chatbees-users requests` needs the AccountAdmin role/);

    const answered = t.standIn.responseUrlPosts.length;
    await t.running.slack.blockAction(
      'UADMIN1',
      { action_id: BUTTONS.approveRequest, value: String(dan.id) },
      {},
      { container: { type: 'message', channel_id: 'D0ADMIN1', message_ts: '1.1', is_ephemeral: true } },
    );
    const said = await waitFor(() => t.standIn.responseUrlPosts[answered], 5_000, 'the list press answered');
    expect(String(said.body.text)).toBe(':white_check_mark: Approved: <@UDAN> is now an AccountUser, and was told.');
    expect(await run('UADMIN2', 'requests')).toMatch(/^\*1 access request waiting\* in \*Acme Bees\*:\n<@UBOB>/);
  });
});

describe.each(backends)('ACCESS_REQUESTS_CHANNEL on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), { users: USERS, env: { ACCESS_REQUESTS_CHANNEL: 'CDEFAULT1' } });
  beforeEach(async () => {
    await t.db.knex('access_requests').del();
    await t.db.knex('accounts').update({ requests_channel: null });
    await resetAccount(t.running, t.db, t.standIn, MEMBERS);
  });

  it('is where requests go until an admin chooses another channel', async () => {
    expect(await answerTo(t, 'UADMIN1', 'requests channel')).toMatch(
      /^Access requests go to <#CDEFAULT1> \(the default, ACCESS_REQUESTS_CHANNEL\)/,
    );
    const since = t.standIn.calls.length;
    await t.running.slack.command('UBOB', 'request');
    const copy = await waitFor(
      () =>
        t.standIn.calls.slice(since).find((c) => c.method === 'chat.postMessage' && c.params.channel === 'CDEFAULT1'),
      5_000,
      'the request in the default channel',
    );
    expect(String(copy.params.text)).toContain('<@UBOB> asks for access');
    expect(t.standIn.dmsTo('UADMIN1')).toHaveLength(0);
  });
});
