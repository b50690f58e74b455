// Invitation DMs keep themselves current: when an invitation is revoked, replaced, ended by the
// authority rules or expires, its DM (chat.update on the channel and ts chat.postMessage
// returned) says so and drops the buttons that no longer work — through the job queue.
import { beforeEach, describe, expect, it } from 'vitest';
import { BUTTONS } from '../../src/slack/operations.js';
import { botUnderTest, resetAccount, startTestBot } from '../support/bot.js';
import { backends } from '../support/databases.js';
import { insertMembers } from '../support/fixtures.js';
import { type Call, SlackStandIn, waitFor } from '../support/slack-stand-in.js';

/** Within 10 seconds of the event: the queue polls every 2. */
const SOON_MS = 10_000;

describe.each(backends)('invitation DMs that keep themselves current on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), { users: ['UADMIN1', 'UADMIN2', 'UBOB'] });
  beforeEach(() =>
    resetAccount(t.running, t.db, t.standIn, [
      { slackUserId: 'UADMIN1', role: 'AccountAdmin', displayName: 'Ada' },
      { slackUserId: 'UADMIN2', role: 'AccountAdmin', displayName: 'Cleo' },
    ]),
  );

  async function invite(by: string, user: string, nth = 0) {
    await t.running.slack.command(by, `invite <@${user}>`);
    const dm = await waitFor(() => t.standIn.dmsTo(user)[nth], 5_000, `invitation ${nth + 1} to ${user}`);
    const invite = await t.db.knex('invites').where({ for_slack_user_id: user }).orderBy('created_at', 'desc').first();
    return { channel: String(dm.params.channel), ts: String(dm.response?.ts), inviteId: invite.id as string };
  }

  const updatesOf = (dm: { channel: string; ts: string }) =>
    t.standIn.callsTo('chat.update').filter((c) => c.params.channel === dm.channel && c.params.ts === dm.ts);

  function expectEnded(update: Call, words: RegExp) {
    expect(String(update.params.text)).toMatch(words);
    expect(JSON.stringify(update.params.blocks)).not.toContain(BUTTONS.acceptInvitation);
    expect(JSON.stringify(update.params.blocks)).not.toContain('/register/');
  }

  it('says "revoked" once an admin revokes it', async () => {
    const dm = await invite('UADMIN1', 'UBOB');
    await t.running.slack.command('UADMIN1', `revoke ${dm.inviteId}`);
    const [update] = await waitFor(() => (updatesOf(dm).length ? updatesOf(dm) : undefined), SOON_MS, 'the update');
    expectEnded(update as Call, /revoked this invitation/);
  });

  it('says "replaced" when a newer invitation replaces it, and the newer one stays as sent', async () => {
    const first = await invite('UADMIN1', 'UBOB');
    const second = await invite('UADMIN2', 'UBOB', 1);
    const [update] = await waitFor(() => (updatesOf(first).length ? updatesOf(first) : undefined), SOON_MS, 'update');
    expectEnded(update as Call, /A newer invitation replaced this one/);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(updatesOf(second)).toEqual([]);
    expect(updatesOf(first)).toHaveLength(1);
  });

  it('comes back when Slack said, when Slack rate-limits the update', async () => {
    const dm = await invite('UADMIN1', 'UBOB');
    // Longer than the Web API client waits out itself: the job is rescheduled instead. Twice, as
    // the DM's refresh queued when it was sent may run after the revoke too and meet it first.
    t.standIn.fail('chat.update', { status: 429, retryAfter: 4, times: 2 });
    await t.running.slack.command('UADMIN1', `revoke ${dm.inviteId}`);
    const revoked = Date.now();
    await waitFor(
      () => t.running.logs.some((l) => l.includes('"msg":"job rescheduled"')),
      SOON_MS,
      'the job rescheduled',
    );
    // The first try was refused (no answer recorded); the one that went through came after the wait.
    const done = () => updatesOf(dm).filter((c) => c.response?.ok === true);
    const [update] = await waitFor(() => (done().length ? done() : undefined), 15_000, 'the update');
    expectEnded(update as Call, /revoked this invitation/);
    expect(Date.now() - revoked).toBeGreaterThanOrEqual(3_500);
    expect(done()).toHaveLength(1);
    expect(t.running.logs.some((l) => l.includes('job failed'))).toBe(false);
  });

  it('says it no longer works when the admin who sent it is demoted', async () => {
    const dm = await invite('UADMIN1', 'UBOB');
    await t.running.slack.command('UADMIN2', 'role <@UADMIN1> user');
    const [update] = await waitFor(() => (updatesOf(dm).length ? updatesOf(dm) : undefined), SOON_MS, 'the update');
    expectEnded(update as Call, /can no longer invite/);
  });
});

describe.each(backends)('an invitation DM when its link expires on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), { users: ['UADMIN1', 'UBOB'], env: { REGISTRATION_LINK_TTL: '3s' } });
  beforeEach(() =>
    resetAccount(t.running, t.db, t.standIn, [{ slackUserId: 'UADMIN1', role: 'AccountAdmin', displayName: 'Ada' }]),
  );

  it('says "expired" within seconds of the expiry, with no button left', async () => {
    await t.running.slack.command('UADMIN1', 'invite <@UBOB>');
    const dm = await waitFor(() => t.standIn.dmsTo('UBOB')[0], 5_000, 'the invitation');
    const at = { channel: String(dm.params.channel), ts: String(dm.response?.ts) };
    const sent = Date.now();
    const update = await waitFor(
      () => t.standIn.callsTo('chat.update').find((c) => c.params.channel === at.channel && c.params.ts === at.ts),
      15_000,
      'the expiry update',
    );
    expect(Date.now() - sent).toBeGreaterThanOrEqual(2_000);
    expect(String(update.params.text)).toMatch(/This invitation expired/);
    expect(JSON.stringify(update.params.blocks)).not.toContain(BUTTONS.acceptInvitation);
  });
});

describe.each(backends)('asking for a new invitation once one expired on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), {
    users: ['UADMIN1', 'UBOB', 'UCAROL'],
    env: { REGISTRATION_LINK_TTL: '3s', INVITE_REMINDER_BEFORE: 'off' },
  });
  beforeEach(() =>
    resetAccount(t.running, t.db, t.standIn, [{ slackUserId: 'UADMIN1', role: 'AccountAdmin', displayName: 'Ada' }]),
  );

  function press(user: string, action_id: string, value: string, at: { channel: string; ts: string }) {
    return t.running.slack.blockAction(
      user,
      { action_id, value },
      {},
      {
        container: { type: 'message', channel_id: at.channel, message_ts: at.ts },
        channel: { id: at.channel },
        message: { ts: at.ts },
      },
    );
  }

  it('the expired DM asks the inviting admin, whose Invite again sends a new invitation', async () => {
    await t.running.slack.command('UADMIN1', 'invite <@UBOB>');
    const first = await waitFor(() => t.standIn.dmsTo('UBOB')[0], 5_000, 'the invitation');
    const at = { channel: String(first.params.channel), ts: String(first.response?.ts) };
    const expired = await waitFor(() => t.standIn.callsTo('chat.update')[0], 15_000, 'the expiry shown');
    expect(JSON.stringify(expired.params.blocks)).toContain(BUTTONS.askAgain);
    const inviteId = (await t.db.knex('invites').where({ for_slack_user_id: 'UBOB' }).first()).id as string;

    // Someone else pressing Bob's button asks nobody.
    await press('UCAROL', BUTTONS.askAgain, inviteId, at);
    await waitFor(() => t.standIn.responseUrlPosts.length >= 2, 5_000, "Carol's answer");
    expect(t.standIn.dmsTo('UADMIN1')).toHaveLength(0);

    await press('UBOB', BUTTONS.askAgain, inviteId, at);
    const asked = await waitFor(() => t.standIn.dmsTo('UADMIN1')[0], 5_000, "the admin's DM");
    expect(String(asked.params.text)).toContain('<@UBOB> asks for a new invitation');
    const answered = await waitFor(() => t.standIn.callsTo('chat.update')[1], 5_000, "Bob's DM changed");
    expect(String(answered.params.text)).toContain('I asked <@UADMIN1> for a new invitation');
    // Asking twice asks once.
    await press('UBOB', BUTTONS.askAgain, inviteId, at);
    await waitFor(
      () => t.standIn.responseUrlPosts.some((p) => String(p.body.text).includes('asked already')),
      5_000,
      'the second ask',
    );
    expect(t.standIn.dmsTo('UADMIN1')).toHaveLength(1);

    const adminAt = { channel: String(asked.params.channel), ts: String(asked.response?.ts) };
    await press('UADMIN1', BUTTONS.inviteAgain, inviteId, adminAt);
    const second = await waitFor(() => t.standIn.dmsTo('UBOB')[1], 5_000, 'the new invitation');
    expect(JSON.stringify(second.params.blocks)).toContain(BUTTONS.acceptInvitation);
    const invites = await t.db.knex('invites').where({ for_slack_user_id: 'UBOB' }).orderBy('created_at');
    expect(invites).toHaveLength(2);
    expect(invites[0].id).toBe(inviteId);
    const adminUpdate = await waitFor(
      () => t.standIn.callsTo('chat.update').find((c) => c.params.channel === adminAt.channel),
      5_000,
      "the admin's DM changed",
    );
    expect(String(adminUpdate.params.text)).toContain('1 of 1 invited');
  });

  it('refuses Invite again to someone who is no longer an AccountAdmin', async () => {
    await t.running.slack.command('UADMIN1', 'invite <@UBOB>');
    await waitFor(() => t.standIn.dmsTo('UBOB')[0], 5_000, 'the invitation');
    const inviteId = (await t.db.knex('invites').where({ for_slack_user_id: 'UBOB' }).first()).id as string;
    await t.db.knex('members').where({ slack_user_id: 'UADMIN1' }).update({ role: 'AccountUser' });
    await press('UADMIN1', BUTTONS.inviteAgain, inviteId, { channel: 'DADMIN1', ts: '1.1' });
    const refusal = await waitFor(
      () => t.standIn.responseUrlPosts.find((p) => String(p.body.text).includes('AccountAdmin')),
      5_000,
      'the refusal',
    );
    expect(String(refusal.body.text)).toMatch(/needs the AccountAdmin role/);
    expect(await t.db.knex('invites').where({ for_slack_user_id: 'UBOB' })).toHaveLength(1);
  });
});

describe.each(backends)('a reminder before an invitation expires on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), {
    users: ['UADMIN1', 'UBOB', 'UCAROL'],
    env: { REGISTRATION_LINK_TTL: '6s', INVITE_REMINDER_BEFORE: '3s' },
  });
  beforeEach(() =>
    resetAccount(t.running, t.db, t.standIn, [{ slackUserId: 'UADMIN1', role: 'AccountAdmin', displayName: 'Ada' }]),
  );

  it('reminds a pending invitee once, with the Accept button, and not someone who joined', async () => {
    await t.running.slack.command('UADMIN1', 'invite <@UBOB> <@UCAROL>');
    await waitFor(() => t.standIn.dmsTo('UCAROL')[0] && t.standIn.dmsTo('UBOB')[0], 5_000, 'the invitations');
    // Carol joins before her reminder is due.
    const invite = await t.db.knex('invites').where({ for_slack_user_id: 'UCAROL' }).first();
    await t.db.knex('invites').where({ id: invite.id }).update({ uses: 1 });
    const reminder = await waitFor(() => t.standIn.dmsTo('UBOB')[1], 10_000, "Bob's reminder");
    expect(String(reminder.params.text)).toMatch(/^Reminder: /);
    expect(JSON.stringify(reminder.params.blocks)).toContain(BUTTONS.acceptInvitation);
    // Past the expiry: still one reminder for Bob, none for Carol.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(t.standIn.dmsTo('UBOB')).toHaveLength(2);
    expect(t.standIn.dmsTo('UCAROL')).toHaveLength(1);
    const bob = await t.db.knex('invites').where({ for_slack_user_id: 'UBOB' }).first();
    const dm = await t.db.knex('invitation_dms').where({ invite_id: bob.id }).first();
    expect(dm.reminded_at).not.toBeNull();
  });
});

describe.each(backends)('an expiry due while the bot was stopped on $name', (backend) => {
  it('is shown once, after the next start', async () => {
    const db = await backend.open();
    const standIn = await new SlackStandIn().start();
    try {
      for (const id of ['UADMIN1', 'UBOB']) standIn.addUser({ id });
      const env = { REGISTRATION_LINK_TTL: '3s', INVITE_REMINDER_BEFORE: 'off' };
      const first = await startTestBot({ db, standIn, env });
      await insertMembers(db.knex, first.account, [{ slackUserId: 'UADMIN1', role: 'AccountAdmin' }]);
      await first.slack.command('UADMIN1', 'invite <@UBOB>');
      const dm = await waitFor(() => standIn.dmsTo('UBOB')[0], 5_000, 'the invitation');
      await waitFor(() => standIn.responseUrlPosts.length > 0, 5_000, "the admin's answer");
      await first.stop();
      // The link expires while no bot runs.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(standIn.callsTo('chat.update')).toEqual([]);

      const second = await startTestBot({ db, standIn, env });
      try {
        const update = await waitFor(() => standIn.callsTo('chat.update')[0], 10_000, 'the expiry shown');
        expect(update.params).toMatchObject({ channel: dm.params.channel, ts: dm.response?.ts });
        expect(String(update.params.text)).toMatch(/This invitation expired/);
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        expect(standIn.callsTo('chat.update')).toHaveLength(1);
      } finally {
        await second.stop();
      }
    } finally {
      await standIn.stop();
      await db.close();
    }
  });
});
