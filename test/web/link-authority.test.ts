// A registration link carries the authority of the people behind it, checked when it is used:
// the admin who made it must still be able to invite, and the person it admits must still be an
// active person of the workspace (Slack's users.info, asked at that moment). Removal, a Slack
// deactivation and a demotion end the links they take the authority from. End to end: the real
// bot over HTTP, Slack-signed commands and events, the Web API stand-in, both backends.
import { beforeEach, describe, expect, it } from 'vitest';
import { type BotUnderTest, botUnderTest, handled, resetAccount } from '../support/bot.js';
import { type BackendUnderTest, backends } from '../support/databases.js';
import { snapshot as accountSnapshot, insertMembers } from '../support/fixtures.js';
import { PageSession } from '../support/page-session.js';
import { CLIENT_ID, CLIENT_SECRET, linkButtonUrl, TEAM_ID, waitFor } from '../support/slack-stand-in.js';

const PEOPLE = ['UADMIN1', 'UADMIN2', 'UBOB', 'UCAROL', 'UEVE', 'UGUEST1', 'UGUEST2'];

/** What a browser shows: tags stripped. */
const textOf = (html: string) =>
  html
    .replace(/<style>[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');

/**
 * A bot for a describe block (on `backend`, with `env`), reset before each test to two
 * AccountAdmins and everyone known to Slack; and helpers over it.
 */
function linkBot(backend: BackendUnderTest, env: Record<string, string> = {}) {
  const t = botUnderTest(() => backend.open(), { users: PEOPLE, env });
  beforeEach(async () => {
    await resetAccount(t.running, t.db, t.standIn, [
      { slackUserId: 'UADMIN1', role: 'AccountAdmin' },
      { slackUserId: 'UADMIN2', role: 'AccountAdmin' },
    ]);
    for (const id of PEOPLE) t.standIn.addUser({ id });
  });
  return { t, h: helpers(t) };
}

/** Helpers over one running bot. */
function helpers(t: BotUnderTest) {
  const accountId = () => t.running.account.id;
  const member = (user: string) => t.db.knex('members').where({ account_id: accountId(), slack_user_id: user }).first();
  const inviteFor = (user: string) =>
    t.db
      .knex('invites')
      .where({ account_id: accountId(), for_slack_user_id: user })
      .orderBy('created_at', 'desc')
      .first();
  const command = async (user: string, text: string) =>
    String((await t.running.slack.command(user, text)).json?.text ?? '');

  /** The answer a change gets through response_url, after the ack. */
  async function change(user: string, text: string): Promise<string> {
    const before = t.standIn.responseUrlPosts.length;
    await t.running.slack.command(user, text);
    const post = await waitFor(() => t.standIn.responseUrlPosts[before], 10_000, `the answer to ${text}`);
    return String(post.body.text);
  }

  /** `/chatbees-users invite @user` by `by`; the path of the link the DM carries. */
  async function invite(user: string, by = 'UADMIN1'): Promise<{ path: string; answer: string }> {
    const sent = t.standIn.dmsTo(user).length;
    const answer = await change(by, `invite <@${user}|someone>`);
    // The invitation (a welcome from an earlier test's registration may still arrive meanwhile).
    const dm = await waitFor(
      () =>
        t.standIn
          .dmsTo(user)
          .slice(sent)
          .find((c) => Array.isArray(c.params.blocks)),
      10_000,
      `the invitation to ${user}`,
    );
    return { path: new URL(linkButtonUrl(dm)).pathname, answer };
  }

  /** Everything stored about the account, to show a request changed nothing. */
  const snapshot = () => accountSnapshot(t.db.knex, accountId());

  return { member, inviteFor, command, change, invite, snapshot };
}

describe.each(backends)('personal links on $name', (backend) => {
  const { t, h } = linkBot(backend);

  it('an invitee deactivated in Slack before registering: the event ends the invite, and Slack is asked at use', async () => {
    const { path } = await h.invite('UBOB');
    const session = new PageSession(t.running.url);
    const page = await session.go(path);
    expect(page.status).toBe(200);

    const since = t.running.logs.length;
    await t.running.slack.event({ type: 'user_change', user: { id: 'UBOB', team_id: TEAM_ID, deleted: true } });
    await handled(t.running, 'user_change', 1, since);
    expect(await h.inviteFor('UBOB')).toMatchObject({ revoke_reason: 'invitee_deactivated' });
    const ended = await t.db.knex('audit_log').where({ action: 'invite.revoked', target_slack_user_id: 'UBOB' });
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ actor: 'Slack', source: 'slack_event' });
    expect(await h.command('UADMIN1', 'invites')).not.toContain('UBOB');

    const before = await h.snapshot();
    const refused = await session.submit(path, page.html);
    expect(refused.status).toBe(403);
    expect(textOf(refused.html)).toContain('not an active member of the Slack workspace');
    expect(await h.snapshot()).toEqual(before);
    expect(await h.member('UBOB')).toBeUndefined();

    // No event at all (missed, or not yet delivered): users.info at the moment of use decides.
    const carol = await h.invite('UCAROL');
    const carolPage = await session.go(carol.path);
    expect(carolPage.status).toBe(200);
    t.standIn.addUser({ id: 'UCAROL', deleted: true });
    const stillBefore = await h.snapshot();
    const refusedToo = await session.submit(carol.path, carolPage.html);
    expect(refusedToo.status).toBe(403);
    expect(await h.snapshot()).toEqual(stillBefore);
    // A bot, or someone of another workspace, is refused the same way.
    for (const who of [{ is_bot: true }, { team_id: 'TOTHER' }]) {
      t.standIn.addUser({ id: 'UCAROL', ...who });
      expect((await session.submit(carol.path, carolPage.html)).status).toBe(403);
    }
    expect(await h.member('UCAROL')).toBeUndefined();
  });

  it('removing an admin ends the links they made, and the answer says how many', async () => {
    const { path } = await h.invite('UCAROL', 'UADMIN2');
    const answer = await h.change('UADMIN1', 'remove <@UADMIN2>');
    expect(answer).toContain('1 registration link they made stopped working.');
    expect(await h.command('UADMIN1', 'audit 1')).toContain('removed <@UADMIN2>, ending 1 registration link they made');
    const page = await new PageSession(t.running.url).go(path);
    expect(page.status).toBe(403);
    expect(textOf(page.html)).toContain('can no longer invite people');
  });

  it("Slack refusing the workspace's token is not 'try again': the app is not installed there", async () => {
    const { path } = await h.invite('UBOB');
    const session = new PageSession(t.running.url);
    const page = await session.go(path);
    t.standIn.fail('users.info', { error: 'account_inactive' });
    const refused = await session.submit(path, page.html);
    expect(refused.status).toBe(403);
    expect(textOf(refused.html)).toContain('ChatBees Users is not installed in this Slack workspace now');
    // Other refusals are for the operator (logged); the person may try again.
    t.standIn.fail('users.info', { error: 'missing_scope' });
    expect((await session.submit(path, page.html)).status).toBe(503);
    expect(t.running.logs.join('\n')).toContain('missing_scope');
    expect(await h.member('UBOB')).toBeUndefined();
  });

  it('removing a member ends the personal invite still addressed to them', async () => {
    const { path } = await h.invite('UBOB');
    const session = new PageSession(t.running.url);
    const page = await session.go(path);
    // Bob joins another way (a shared link, say) while the invite is pending; then is removed.
    await insertMembers(t.db.knex, t.running.account, [{ slackUserId: 'UBOB' }]);
    const answer = await h.change('UADMIN1', 'remove <@UBOB>');
    expect(answer).toMatch(/their access has ended\. the invite still pending for them stopped working\./i);
    expect(await h.inviteFor('UBOB')).toMatchObject({ revoke_reason: 'invitee_removed' });
    const removal = await t.db
      .knex('audit_log')
      .where({ action: 'member.removed', target_slack_user_id: 'UBOB' })
      .first();
    expect(removal.after.revokedInvitesForThem).toEqual([(await h.inviteFor('UBOB')).id]);

    const before = await h.snapshot();
    const refused = await session.submit(path, page.html);
    expect(refused.status).toBe(410);
    expect(textOf(refused.html)).toContain('withdrawn');
    expect(await h.snapshot()).toEqual(before);
    expect(await h.member('UBOB')).toMatchObject({ status: 'removed' });
  });

  it('demoting an admin ends the links they made: the answer and their DM say how many', async () => {
    const bob = await h.invite('UBOB', 'UADMIN2');
    const carol = await h.invite('UCAROL', 'UADMIN2');
    const mine = await h.invite('UEVE', 'UADMIN1');
    const session = new PageSession(t.running.url);
    const page = await session.go(bob.path);
    expect(page.status).toBe(200);

    const answer = await h.change('UADMIN1', 'role <@UADMIN2> user');
    expect(answer).toContain('<@UADMIN2> is now an *AccountUser*. 2 registration links they made stopped working.');
    const dm = await waitFor(() => t.standIn.dmsTo('UADMIN2').at(-1), 5_000, 'the DM to the demoted admin');
    expect(String(dm.params.text)).toContain('The 2 registration links you made stopped working.');
    const pending = await h.command('UADMIN1', 'invites');
    expect(pending).not.toContain('UBOB');
    expect(pending).not.toContain('UCAROL');
    expect(pending).toContain('UEVE');
    const audit = await h.command('UADMIN1', 'audit 1');
    expect(audit).toContain(
      "changed <@UADMIN2>'s role AccountAdmin → AccountUser, ending 2 registration links they made",
    );

    const before = await h.snapshot();
    const shown = await session.go(carol.path);
    expect(shown.status).toBe(403);
    expect(textOf(shown.html)).toContain('The admin who made this link can no longer invite people');
    const refused = await session.submit(bob.path, page.html);
    expect(refused.status).toBe(403);
    expect(await h.snapshot()).toEqual(before);
    // Promoted again, their old links stay ended; the other admin's link works.
    await h.change('UADMIN1', 'role <@UADMIN2> admin');
    expect((await session.go(bob.path)).status).toBe(403);
    const eve = await session.go(mine.path);
    expect((await session.submit(mine.path, eve.html)).status).toBe(200);
  });

  it('an admin deactivated in Slack but kept as the last one: their links do not work meanwhile', async () => {
    await t.db.knex('members').where({ slack_user_id: 'UADMIN2' }).del();
    const { path } = await h.invite('UBOB');
    const session = new PageSession(t.running.url);
    const page = await session.go(path);
    const since = t.running.logs.length;
    await t.running.slack.event({ type: 'user_change', user: { id: 'UADMIN1', team_id: TEAM_ID, deleted: true } });
    await handled(t.running, 'user_change', 1, since);
    expect((await h.member('UADMIN1')).slack_deactivated_at).not.toBeNull();
    expect((await session.submit(path, page.html)).status).toBe(403);
    expect(await h.member('UBOB')).toBeUndefined();
    // Back in Slack, they can act again, and so can their link.
    await t.running.slack.event({ type: 'user_change', user: { id: 'UADMIN1', team_id: TEAM_ID, deleted: false } });
    await handled(t.running, 'user_change', 2, since);
    expect((await session.submit(path, (await session.go(path)).html)).status).toBe(200);
    expect(await h.member('UBOB')).toMatchObject({ status: 'active', role: 'AccountUser' });
  });

  it('a guest may be invited by name: the admin is told, and the link works', async () => {
    t.standIn.addUser({ id: 'UGUEST1', is_restricted: true });
    t.standIn.addUser({ id: 'UGUEST2', is_ultra_restricted: true });
    const multi = await h.invite('UGUEST1');
    const single = await h.invite('UGUEST2');
    for (const [invited, user] of [
      [multi, 'UGUEST1'],
      [single, 'UGUEST2'],
    ] as const) {
      expect(invited.answer).toContain(`<@${user}> — invited (a guest of this workspace, not a full member)`);
      const session = new PageSession(t.running.url);
      const joined = await session.submit(invited.path, (await session.go(invited.path)).html);
      expect(joined.status).toBe(200);
      expect(await h.member(user)).toMatchObject({ status: 'active', role: 'AccountUser' });
    }
  });

  it('Slack not answering users.info within 2 seconds: 503 with Retry-After, nothing changes; later it works', async () => {
    const { path } = await h.invite('UBOB');
    const session = new PageSession(t.running.url);
    const page = await session.go(path);
    const before = await h.snapshot();
    t.standIn.fail('users.info', { delayMs: 3_000 });
    const started = Date.now();
    const res = await session.submit(path, page.html);
    expect(Date.now() - started).toBeLessThan(2_900);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('60');
    expect(textOf(res.html)).toContain('Slack did not answer in time, so nothing changed. Try again in a minute.');
    expect(await h.snapshot()).toEqual(before);
    // Slack answers again: the same form goes through.
    t.standIn.clearFaults();
    expect((await session.submit(path, page.html)).status).toBe(200);
  });
});

describe.each(backends)('with Sign in with Slack on $name', (backend) => {
  const { t, h } = linkBot(backend, { SLACK_CLIENT_ID: CLIENT_ID, SLACK_CLIENT_SECRET: CLIENT_SECRET });

  /** `/chatbees-users invite link` by `by`; the link's path. */
  async function shareLink(by = 'UADMIN1'): Promise<string> {
    const answer = await h.command(by, 'invite link');
    const url = /<(https:\/\/bees\.example\.test\/register\/[^|>]+)\|/.exec(answer)?.[1];
    if (!url) throw new Error(`no link in: ${answer}`);
    return new URL(url).pathname;
  }

  it('a link for anyone admits full members only: guests are refused, told to ask for a personal invite', async () => {
    const path = await shareLink();
    t.standIn.addUser({ id: 'UGUEST1', is_restricted: true });
    t.standIn.addUser({ id: 'UGUEST2', is_ultra_restricted: true });
    for (const guest of ['UGUEST1', 'UGUEST2']) {
      const session = new PageSession(t.running.url);
      const shown = await session.signInAs(path, t.standIn, { user: guest });
      expect(shown.status).toBe(403);
      expect(textOf(shown.html)).toContain('Guests of the Slack workspace can join only with a personal invite.');
      expect(await h.member(guest)).toBeUndefined();
      const refusal = await t.db.knex('audit_log').where({ action: 'access.refused', actor: guest }).first();
      expect(refusal.after).toEqual({ operation: 'register', reason: 'guest_needs_personal_invite' });
    }
    // Made a guest between opening the page and confirming: refused on confirming.
    const session = new PageSession(t.running.url);
    const page = await session.signInAs(path, t.standIn, { user: 'UCAROL' });
    expect(page.html).toContain('Confirm and join');
    t.standIn.addUser({ id: 'UCAROL', is_ultra_restricted: true });
    expect((await session.submit(path, page.html)).status).toBe(403);
    expect(await h.member('UCAROL')).toBeUndefined();
    expect((await t.db.knex('invites').whereNull('for_slack_user_id').first()).uses).toBe(0);
    // A full member gets in.
    const full = new PageSession(t.running.url);
    const bob = await full.signInAs(path, t.standIn, { user: 'UBOB' });
    expect((await full.submit(path, bob.html)).status).toBe(200);
  });

  it('a personal link asks who you are and registers only the invited person', async () => {
    const { path } = await h.invite('UBOB');
    const first = new PageSession(t.running.url);
    const opened = await first.go(path);
    expect(opened.status).toBe(200);
    expect(textOf(opened.html)).toContain('This invitation is for person-ubob only.');
    expect(opened.html).toContain('Continue with Slack');
    expect(opened.html).not.toContain('Confirm and join');

    // Someone the link was forwarded to.
    const eve = new PageSession(t.running.url);
    const refused = await eve.signInAs(path, t.standIn, { user: 'UEVE', name: 'Eve' });
    expect(refused.status).toBe(403);
    expect(textOf(refused.html)).toContain('This invitation is for @person-ubob, and you signed in with Slack as Eve.');
    expect(await h.member('UEVE')).toBeUndefined();
    expect(await h.member('UBOB')).toBeUndefined();
    const attempt = await t.db.knex('audit_log').where({ action: 'access.refused', actor: 'UEVE' }).first();
    expect(attempt).toMatchObject({
      source: 'registration_page',
      target_slack_user_id: 'UBOB',
      target_invite_id: (await h.inviteFor('UBOB')).id,
    });
    expect(attempt.after).toEqual({ operation: 'register', reason: 'wrong_person' });
    const bob = new PageSession(t.running.url);
    const page = await bob.signInAs(path, t.standIn, { user: 'UBOB', name: 'Bob' });
    expect(page.html).toContain('Signed in with Slack as <strong>Bob</strong>');
    // The sign-in expired before the form was sent: back to the page that asks for one; nothing changes.
    bob.forget('identity');
    const expired = await bob.submit(path, page.html);
    expect(expired.status).toBe(303);
    expect(expired.location).toBe(path);
    expect(await h.member('UBOB')).toBeUndefined();

    const again = await bob.signInAs(path, t.standIn, { user: 'UBOB', name: 'Bob' });
    expect((await bob.submit(path, again.html)).status).toBe(200);
    expect(await h.member('UBOB')).toMatchObject({ status: 'active', role: 'AccountUser', invited_by: 'UADMIN1' });
  });

  it('Slack slow to answer about a signed-in person: the page still shows; confirming answers 503, nothing changes', async () => {
    const path = await shareLink();
    const session = new PageSession(t.running.url);
    t.standIn.fail('users.info', { delayMs: 3_000 });
    const page = await session.signInAs(path, t.standIn, { user: 'UBOB' });
    expect(page.status).toBe(200);
    expect(page.html).toContain('Confirm and join');
    t.standIn.fail('users.info', { delayMs: 3_000 });
    const late = await session.submit(path, page.html);
    expect(late.status).toBe(503);
    expect(late.headers.get('retry-after')).toBe('60');
    expect(await h.member('UBOB')).toBeUndefined();
    expect((await session.submit(path, page.html)).status).toBe(200);
  });

  it('a link for anyone made by an admin who was then demoted stops working', async () => {
    const path = await shareLink('UADMIN2');
    const session = new PageSession(t.running.url);
    const page = await session.signInAs(path, t.standIn, { user: 'UBOB' });
    expect(page.html).toContain('Confirm and join');
    const answer = await h.change('UADMIN1', 'role <@UADMIN2> user');
    expect(answer).toContain('1 registration link they made stopped working.');
    const refused = await session.submit(path, page.html);
    expect(refused.status).toBe(403);
    expect(textOf(refused.html)).toContain('can no longer invite people');
    expect(await h.member('UBOB')).toBeUndefined();
  });
});
