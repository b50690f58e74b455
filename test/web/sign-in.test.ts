// Links for anyone, with Sign in with Slack: the page sends the person through Slack's OpenID
// Connect flow (here a stand-in that signs id_tokens with its own key), the bot verifies the
// id_token (issuer, audience, nonce, expiry, signature against the JWKS) and the person then
// confirms as that verified Slack user. Nothing registers on a GET.
import { generateKeyPair } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { botUnderTest, PUBLIC_URL, resetAccount } from '../support/bot.js';
import { openPgliteTestDatabase } from '../support/databases.js';
import { PageSession } from '../support/page-session.js';
import { CLIENT_ID, CLIENT_SECRET, type SlackStandIn } from '../support/slack-stand-in.js';

describe('links for anyone, with Sign in with Slack', () => {
  const t = botUnderTest(openPgliteTestDatabase, {
    users: ['UADMIN1', 'UNEW1', 'UNEW2', 'UNEW3'],
    env: { SLACK_CLIENT_ID: CLIENT_ID, SLACK_CLIENT_SECRET: CLIENT_SECRET },
  });
  beforeEach(() => resetAccount(t.running, t.db, t.standIn, [{ slackUserId: 'UADMIN1', role: 'AccountAdmin' }]));

  const member = (user: string) =>
    t.db.knex('members').where({ account_id: t.running.account.id, slack_user_id: user }).first();
  const local = (url: string) => url.replace(PUBLIC_URL, '');

  /** `/chatbees-users invite link …` as the admin; the path of the link it answers with. */
  async function shareLink(text = 'invite link'): Promise<{ path: string; answer: string }> {
    const answer = String((await t.running.slack.command('UADMIN1', text)).json?.text);
    const url = /<(https:\/\/bees\.example\.test\/register\/[^|>]+)\|/.exec(answer)?.[1];
    if (!url) throw new Error(`no link in: ${answer}`);
    return { path: local(url), answer };
  }

  /** Opens the link, continues with Slack, and comes back from Slack's consent page as `who`. */
  async function signInThrough(
    browser: PageSession,
    path: string,
    who: Parameters<SlackStandIn['signIn']>[1],
    claims: Record<string, unknown> = {},
    options: Parameters<SlackStandIn['signIn']>[3] = {},
  ) {
    const page = await browser.go(path);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Continue with Slack');
    const toSlack = await browser.continueWithSlack(page.html);
    expect(toSlack.status).toBe(303);
    const returnUrl = await t.standIn.signIn(toSlack.location, who, claims, options);
    return { toSlack, returnUrl, back: await browser.go(local(returnUrl)) };
  }

  it('registers the verified Slack user after they confirm, and counts the use', async () => {
    const { path, answer } = await shareLink('invite link for 3d uses 2');
    expect(answer).toMatch(/for up to 2 people/);
    const browser = new PageSession(t.running.url);
    const { toSlack, back, returnUrl } = await signInThrough(browser, path, { user: 'UNEW1', name: 'New One' });

    const authorize = new URL(toSlack.location);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(
      `${new URL(t.standIn.apiUrl).origin}/openid/connect/authorize`,
    );
    expect(authorize.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(authorize.searchParams.get('scope')).toBe('openid profile email');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/register/signed-in`);
    expect(authorize.searchParams.get('nonce')).toMatch(/^[\w-]{20,}$/);

    // Back from Slack: a redirect to the link's page; nobody is registered by these GETs.
    expect(back.status).toBe(303);
    expect(back.location).toBe(path);
    const confirm = await browser.go(path);
    expect(confirm.html).toContain('Signed in with Slack as <strong>New One</strong>');
    expect(await member('UNEW1')).toBeUndefined();

    const joined = await browser.submit(path, confirm.html);
    expect(joined.status).toBe(200);
    // The name Slack's users.info gives now (the stand-in's display name), not the id_token's.
    expect(await member('UNEW1')).toMatchObject({
      status: 'active',
      role: 'AccountUser',
      display_name: 'person-unew1',
    });
    const invite = await t.db.knex('invites').whereNull('for_slack_user_id').first();
    expect(invite).toMatchObject({ uses: 1, max_uses: 2 });
    // "for 3d": the link's own lifetime, not the 7-day default.
    const lifetime = new Date(invite.expires_at).getTime() - new Date(invite.created_at).getTime();
    expect(lifetime).toBe(3 * 86_400_000);
    const list = String((await t.running.slack.command('UADMIN1', 'invites')).json?.text);
    expect(list).toContain('anyone with the link');
    expect(list).toContain('used 1 of 2');

    // Logged at debug level, the exchange gives away neither the app's secret, the code, the
    // id_token nor the link.
    const logs = t.running.logs.join('\n');
    const code = new URL(returnUrl).searchParams.get('code') as string;
    for (const secret of [CLIENT_SECRET, code, path.split('/').pop() as string, 'xoxp-openid-access']) {
      expect(logs).not.toContain(secret);
    }
    expect(logs).not.toMatch(/"id_token":"eyJ/);
    expect(logs).toContain('openid.connect.token');
  });

  it('stops at its number of uses, and when revoked', async () => {
    const { path } = await shareLink('invite link uses 1');
    const first = new PageSession(t.running.url);
    await signInThrough(first, path, { user: 'UNEW1' });
    expect((await first.submit(path, (await first.go(path)).html)).status).toBe(200);
    const second = new PageSession(t.running.url);
    expect((await second.go(path)).status).toBe(410);

    const other = await shareLink();
    const id = (await t.db.knex('invites').whereNull('for_slack_user_id').orderBy('created_at', 'desc').first()).id;
    await t.running.slack.command('UADMIN1', `revoke ${id}`);
    expect((await new PageSession(t.running.url).go(other.path)).status).toBe(410);
  });

  it('refuses an id_token it cannot trust: another key, audience, issuer or nonce, or expired', async () => {
    const { path } = await shareLink();
    const { privateKey: stranger } = await generateKeyPair('RS256');
    const cases: Array<[string, Record<string, unknown>, Parameters<SlackStandIn['signIn']>[3]]> = [
      ['another key', {}, { key: stranger }],
      ['another audience', { aud: '9999.9999' }, {}],
      ['another issuer', { iss: 'https://slack.example.evil' }, {}],
      ['another nonce', { nonce: 'not-the-one-we-sent-0123456789' }, {}],
      ['expired', {}, { expiresInSeconds: -60 }],
    ];
    for (const [what, claims, options] of cases) {
      const browser = new PageSession(t.running.url);
      const { back } = await signInThrough(browser, path, { user: 'UNEW2' }, claims, options);
      expect(back.status, what).toBe(400);
      expect(back.html, what).toContain('Sign-in did not work');
      expect((await browser.go(path)).html, what).toContain('Continue with Slack');
    }
    expect(await member('UNEW2')).toBeUndefined();
  });

  it('refuses a return from Slack without the state it sent', async () => {
    const { path } = await shareLink();
    const browser = new PageSession(t.running.url);
    const page = await browser.go(path);
    const toSlack = await browser.continueWithSlack(page.html);
    const back = new URL(await t.standIn.signIn(toSlack.location, { user: 'UNEW2' }));
    back.searchParams.set('state', 'forged-state-0123456789abcdef');
    expect((await browser.go(local(back.toString()))).status).toBe(400);
    // Another browser, without the state cookie, gets nowhere with a genuine return URL.
    const genuine = await t.standIn.signIn((await browser.continueWithSlack(page.html)).location, { user: 'UNEW2' });
    expect((await new PageSession(t.running.url).go(local(genuine))).status).toBe(400);
    expect(await member('UNEW2')).toBeUndefined();
  });

  it('refuses a person of another workspace, on the page they come back to and on confirming', async () => {
    const { path } = await shareLink();
    const browser = new PageSession(t.running.url);
    // A confirm form this browser got while signed in as someone of this workspace, posted after
    // signing in again as someone of another.
    await signInThrough(browser, path, { user: 'UNEW1' });
    const before = await browser.go(path);
    expect(before.html).toContain('Confirm and join');
    const again = await browser.continueWithSlack(before.html);
    await browser.go(local(await t.standIn.signIn(again.location, { user: 'UNEW3', team: 'TOTHER' })));
    const shown = await browser.go(path);
    expect(shown.status).toBe(403);
    expect(shown.html).toContain('different Slack workspace');
    expect(shown.html).not.toContain('Confirm and join');
    const refused = await browser.submit(path, before.html);
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('different Slack workspace');
    expect(await member('UNEW3')).toBeUndefined();
  });

  it('keeps a sign-in to its own link', async () => {
    const one = await shareLink();
    const two = await shareLink();
    const browser = new PageSession(t.running.url);
    await signInThrough(browser, one.path, { user: 'UNEW1' });
    expect((await browser.go(two.path)).html).toContain('Continue with Slack');
  });

  it('checks the link options', async () => {
    for (const text of ['invite link uses 0', 'invite link for 2y', 'invite link uses 5 uses 6', 'invite link soon']) {
      expect(String((await t.running.slack.command('UADMIN1', text)).json?.text), text).toMatch(/Usage: .*invite link/);
    }
    expect(await t.db.knex('invites')).toHaveLength(0);
  });
});
