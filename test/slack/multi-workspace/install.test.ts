// Multi-workspace mode: Bolt's OAuth install flow against the Web API stand-in (the state cookie,
// Slack's consent page, oauth.v2.access), the account it makes with the installer as its first
// AccountAdmin, the install paths refused to anything but GET and to a flood, and the logs.
import { describe, expect, it } from 'vitest';
import { BOT_SCOPES } from '../../../src/slack/oauth.js';
import { handled, PUBLIC_URL, startTestBot } from '../../support/bot.js';
import { backends } from '../../support/databases.js';
import {
  MULTI_ENV,
  multiWorkspaceBot,
  STATE_COOKIE,
  STATE_SECRET,
  TOKEN_KEY,
  textOf,
} from '../../support/multi-workspace-bot.js';
import { APP_ID, CLIENT_ID, CLIENT_SECRET, SlackStandIn, waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('multi-workspace mode on $name', (backend) => {
  const t = multiWorkspaceBot(backend);
  const { installPage, comeBack, handedOut, install, accountOf, membersOf, command } = t;

  it('/slack/install links to Slack at SLACK_API_URL with the bot scopes, the redirect URL and a state tied to this browser', async () => {
    const page = await installPage();
    expect(page.res.status).toBe(200);
    expect(page.res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(page.res.headers.get('x-frame-options')).toBe('DENY');
    expect(textOf(page.html)).toMatch(/Whoever installs it in a workspace becomes its first AccountAdmin/);
    const url = new URL(page.authorizeUrl);
    expect(url.origin + url.pathname).toBe(new URL('/oauth/v2/authorize', t.standIn.apiUrl).toString());
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(url.searchParams.get('scope')?.split(',')).toEqual(BOT_SCOPES);
    expect(url.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/slack/oauth_redirect`);
    const state = url.searchParams.get('state');
    expect(state).toBeTruthy();
    expect(page.cookie).toBe(`${STATE_COOKIE}=${state}`);
    expect(page.setCookie).toMatch(/HttpOnly/);
    // Only a GET starts an install.
    expect((await fetch(`${t.running.url}/slack/install`, { method: 'POST' })).status).toBe(405);
  });

  it('installing makes the workspace an account whose first AccountAdmin is the installer, tokens kept encrypted', async () => {
    const done = await install({ user: 'UADA', team: 'T0ONE', teamName: 'One Inc' });
    expect(done.status).toBe(200);
    expect(done.text).toMatch(/ChatBees Users now serves One Inc/);
    expect(done.text).toMatch(/You are its first AccountAdmin/);
    expect(done.text).toMatch(/ChatBees Users is installed/);
    expect(done.html).toContain(`/app_redirect?app=${APP_ID}&amp;team=T0ONE`);
    // The state cookie is spent.
    expect(done.headers.get('set-cookie')).toMatch(new RegExp(`${STATE_COOKIE}=deleted`));

    const token = t.standIn.tokenOf('T0ONE') as string;
    expect(token).toMatch(/^xoxb-T0ONE-/);
    // The code went back to Slack with the app's credentials and the same redirect URL.
    const exchange = t.standIn.callsTo('oauth.v2.access')[0];
    expect(exchange?.params).toMatchObject({
      client_id: CLIENT_ID,
      redirect_uri: `${PUBLIC_URL}/slack/oauth_redirect`,
    });

    const account = await accountOf('T0ONE');
    expect(account).toMatchObject({ name: 'One Inc', is_enterprise_install: false });
    // The installer's name was read from Slack with the new token.
    expect(await membersOf('T0ONE')).toEqual([
      { slack_user_id: 'UADA', role: 'AccountAdmin', status: 'active', display_name: 'installer-uada' },
    ]);
    expect(t.standIn.callsTo('users.info').find((c) => c.params.user === 'UADA')?.authorization).toBe(
      `Bearer ${token}`,
    );
    const [row] = await t.db.knex('installations').select('install_key', 'sealed');
    expect(row.install_key).toBe('T:T0ONE');
    expect(row.sealed).not.toContain('xoxb-');
    expect(row.sealed).not.toContain(token);
    const audit = await t.db.knex('audit_log').where({ account_id: account.id }).orderBy('id');
    expect(audit.map((a) => [a.action, a.actor, a.source])).toEqual([
      ['member.bootstrapped', 'UADA', 'slack_install'],
      ['app.installed', 'UADA', 'slack_install'],
    ]);

    // Slack's requests from that workspace are served with its own token.
    expect((await command('T0ONE', 'UADA', 'whoami')).text).toMatch(/You are an \*AccountAdmin\* of \*One Inc\*/);
    const { text } = await command('T0ONE', 'UADA', 'invite <@UCAROL>');
    expect(text).not.toMatch(/another Slack workspace/);
    t.standIn.addUser({ id: 'UCAROL', team_id: 'T0ONE' });
    await waitFor(() => t.standIn.dmsTo('UCAROL').length === 1, 5_000, 'the invitation DM');
    expect(t.standIn.dmsTo('UCAROL')[0]?.authorization).toBe(`Bearer ${token}`);
  });

  it('finishes an install only in the browser that started it, and not when the person cancels', async () => {
    const page = await installPage();
    const who = { user: 'UADA', team: 'T0ONE' };
    // No state cookie (another browser), then a cookie from another install attempt.
    const noCookie = await comeBack(t.standIn.install(page.authorizeUrl, who), undefined);
    expect(noCookie.status).toBe(400);
    expect(noCookie.text).toMatch(/started in another browser or more than 10 minutes ago/);
    const other = await installPage();
    const wrongCookie = await comeBack(t.standIn.install(page.authorizeUrl, who), other.cookie);
    expect(wrongCookie.status).toBe(400);
    const cancelled = await comeBack(t.standIn.install(page.authorizeUrl, who, { deny: true }), page.cookie);
    expect(cancelled.text).toMatch(/The installation was cancelled; nothing was changed/);
    // A code Slack does not honour (used, forged) ends the same way.
    const fresh = await installPage();
    const forged = new URL(t.standIn.install(fresh.authorizeUrl, who));
    forged.searchParams.set('code', 'not-a-code');
    const refused = await comeBack(forged.toString(), fresh.cookie);
    expect(refused.status).toBe(502);
    expect(refused.text).toMatch(/could not be completed/);
    expect(refused.text).not.toMatch(/invalid_code|Error|at /);

    expect(t.standIn.callsTo('oauth.v2.access')).toHaveLength(1);
    expect(await t.db.knex('installations').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    expect(await t.db.knex('accounts').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    expect(await t.db.knex('members').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('answers anything but GET on the install paths with 405, logging neither the code nor the cookie', async () => {
    const code = `${Date.now()}.headcode`;
    const state = 'head-state-value-0123456789';
    handedOut.push(code, state);
    const since = t.running.logs.length;
    for (const method of ['HEAD', 'POST', 'PUT']) {
      for (const where of ['/slack/install', `/slack/oauth_redirect?code=${code}&state=${state}`]) {
        const res = await fetch(`${t.running.url}${where}`, {
          method,
          headers: { Cookie: `${STATE_COOKIE}=${state}` },
        });
        expect(res.status, `${method} ${where}`).toBe(405);
        expect(res.headers.get('allow')).toBe('GET');
      }
    }
    expect(t.standIn.callsTo('oauth.v2.access')).toEqual([]);
    expect(await t.db.knex('installations')).toEqual([]);
    const logged = t.running.logs.slice(since).map((line) => JSON.parse(line) as { level: number });
    expect(logged.filter((l) => l.level >= 50)).toEqual([]);
  });

  /**
   * One round of every kind of flow the multi-workspace tests drive, for the log check to look at
   * when it runs alone: installs (of workspaces, again after an uninstall, org-wide), a refused and
   * a cancelled install, commands and a DM with a workspace's token, events, the install paths
   * refused with 405, and an installation that cannot be read.
   */
  async function everyKindOfFlow() {
    const bot = (team: string) => ({
      team_id: team,
      authorizations: [{ team_id: team, user_id: 'UBOT1', is_bot: true }],
    });
    await install({ user: 'UADA', team: 'T0ONE', teamName: 'One Inc' });
    t.standIn.addUser({ id: 'UCAROL', team_id: 'T0ONE' });
    await command('T0ONE', 'UADA', 'invite <@UCAROL>');
    await waitFor(() => t.standIn.dmsTo('UCAROL')[0], 5_000, 'the invitation DM');
    await command('T0ONE', 'UADA', 'list');

    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    let since = t.running.logs.length;
    await t.running.slack.event({ type: 'app_uninstalled' }, bot('T0TWO'));
    await handled(t.running, 'app_uninstalled', 1, since);
    await command('T0TWO', 'UBEA', 'whoami');
    await install({ user: 'UNEWBIE', team: 'T0TWO', teamName: 'Two Ltd' });
    since = t.running.logs.length;
    await t.running.slack.event({ type: 'tokens_revoked', tokens: { bot: ['UBOT1'] } }, bot('T0TWO'));
    await handled(t.running, 'tokens_revoked', 1, since);

    await install({
      user: 'UORGADMIN',
      team: 'T0GRIDA',
      enterprise: { id: 'E0GRID', name: 'Grid Corp' },
      orgWide: true,
    });
    await command('T0GRIDB', 'UORGADMIN', 'whoami', { enterprise_id: 'E0GRID', is_enterprise_install: 'true' });

    const cancelled = await installPage();
    await comeBack(
      t.standIn.install(cancelled.authorizeUrl, { user: 'UADA', team: 'T0ONE' }, { deny: true }),
      cancelled.cookie,
    );
    const forged = await installPage();
    const back = new URL(t.standIn.install(forged.authorizeUrl, { user: 'UADA', team: 'T0ONE' }));
    back.searchParams.set('code', 'not-a-code');
    await comeBack(back.toString(), forged.cookie);

    const code = `${Date.now()}.roundcode`;
    const state = 'round-state-value-0123456789';
    handedOut.push(code, state);
    for (const method of ['POST', 'PUT']) {
      await fetch(`${t.running.url}/slack/oauth_redirect?code=${code}&state=${state}`, {
        method,
        headers: { Cookie: `${STATE_COOKIE}=${state}` },
      });
    }

    await install({ user: 'UTHREE', team: 'T0THREE', teamName: 'Three Co' });
    await t.db.knex('installations').where({ install_key: 'T:T0THREE' }).update({ sealed: 'v1.AAAA.BBBB.CCCC' });
    const unreadable = t.running.slack.commandBody('UTHREE', 'whoami', { team_id: 'T0THREE' });
    const answerId = String(unreadable.get('response_url')).split('/').pop();
    await t.running.slack.post(unreadable.toString());
    await waitFor(() => t.standIn.responseUrlPosts.find((p) => p.id === answerId), 5_000, 'the answer');
  }

  // Last: the logs of everything above, and of one round of every kind of flow (so that there is
  // something to look at when it runs alone), at debug level (where Bolt and the Web API client
  // log requests and responses).
  it('never logs the app credentials, the token key, OAuth codes or states, or a workspace token', async () => {
    await everyKindOfFlow();
    const text = t.running.logs.join('\n');
    expect(t.running.config.logLevel).toBe(process.env.TEST_LOG_LEVEL ?? 'debug');
    expect(handedOut.length).toBeGreaterThan(10);
    for (const secret of [CLIENT_SECRET, STATE_SECRET, TOKEN_KEY, ...handedOut.filter(Boolean)]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/xoxb-/);
  });
});

describe('multi-workspace install pages under a flood', () => {
  it('count against the per-address limit of the public pages, the way back from Slack too', async () => {
    const db = await (backends[0] as (typeof backends)[number]).open();
    const standIn = await new SlackStandIn().start();
    const running = await startTestBot({ db, standIn, env: { ...MULTI_ENV, RATE_LIMIT_PER_ADDRESS: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${running.url}/slack/install`)).status);
      const refused = await fetch(`${running.url}/slack/install`);
      expect(statuses).toEqual([200, 200, 200]);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // Coming back from Slack counts too: a flood of made-up codes never reaches Slack.
      const back = await fetch(`${running.url}/slack/oauth_redirect?code=1.2&state=s`);
      expect(back.status).toBe(429);
      expect(standIn.callsTo('oauth.v2.access')).toEqual([]);
    } finally {
      await running.stop();
      await standIn.stop();
      await db.close();
    }
  });
});
