// Multi-workspace mode end to end: Bolt's OAuth install flow against the Web API stand-in (the
// state cookie, Slack's consent page, oauth.v2.access), one account per workspace with the
// installer as its first AccountAdmin, every request and page served with its own workspace's
// account and token, and uninstalling that forgets the tokens and keeps the members.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { INSTALLATION_UNREADABLE } from '../../src/slack/app.js';
import { OPEN_CONSOLE_FROM_HOME } from '../../src/slack/blocks/home.js';
import { BOT_SCOPES } from '../../src/slack/oauth.js';
import { handled, PUBLIC_URL, type RunningBot, startTestBot } from '../support/bot.js';
import { type BotProcess, spawnBot } from '../support/bot-process.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { insertMembers } from '../support/fixtures.js';
import { PageSession } from '../support/page-session.js';
import { SIGNING_SECRET } from '../support/slack-requests.js';
import { APP_ID, CLIENT_ID, CLIENT_SECRET, type Installing, SlackStandIn, waitFor } from '../support/slack-stand-in.js';

const STATE_SECRET = 'state-secret-for-the-oauth-flow-0123456789';
const TOKEN_KEY = 'token-encryption-key-for-tests-0123456789';
const STATE_COOKIE = 'slack-app-oauth-state';

const MULTI_ENV = {
  SLACK_BOT_TOKEN: '',
  SLACK_CLIENT_ID: CLIENT_ID,
  SLACK_CLIENT_SECRET: CLIENT_SECRET,
  SLACK_STATE_SECRET: STATE_SECRET,
  SLACK_TOKEN_ENCRYPTION_KEY: TOKEN_KEY,
};

/** What a browser shows: tags stripped, entities left as they are. */
function textOf(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');
}

const unescapeHtml = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');

describe.each(backends)('multi-workspace mode on $name', (backend) => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let running: RunningBot;

  beforeAll(async () => {
    db = await backend.open();
    standIn = await new SlackStandIn().start();
    running = await startTestBot({ db, standIn, env: MULTI_ENV });
  });
  afterAll(async () => {
    await running?.stop();
    await standIn?.stop();
    await db?.close();
  });
  beforeEach(async () => {
    for (const table of ['slack_request_claims', 'audit_log', 'invites', 'members', 'installations', 'accounts']) {
      await db.knex(table).del();
    }
    standIn.reset();
  });

  /** GET /slack/install as a browser: the page, its state cookie and the authorize URL it links to. */
  async function installPage() {
    const res = await fetch(`${running.url}/slack/install`, { redirect: 'manual' });
    const html = await res.text();
    const setCookie = res.headers.get('set-cookie') ?? '';
    const href = /<a class="button" href="([^"]+)">Add to Slack<\/a>/.exec(html)?.[1];
    return {
      res,
      html,
      setCookie,
      cookie: setCookie.split(';')[0] ?? '',
      authorizeUrl: href ? unescapeHtml(href) : '',
    };
  }

  /** Follows Slack's redirect back to the bot (PUBLIC_URL points elsewhere in tests). */
  async function comeBack(redirect: string, cookie: string | undefined) {
    const back = new URL(redirect);
    expect(`${back.origin}${back.pathname}`).toBe(`${PUBLIC_URL}/slack/oauth_redirect`);
    const res = await fetch(`${running.url}${back.pathname}${back.search}`, {
      redirect: 'manual',
      headers: cookie ? { Cookie: cookie } : {},
    });
    const html = await res.text();
    return { status: res.status, headers: res.headers, html, text: textOf(html) };
  }

  /** Every OAuth code and state handed out, for the log check. */
  const handedOut: string[] = [];

  /** The whole install, as a person in a browser does it. */
  async function install(who: Installing) {
    standIn.addUser({ id: who.user, team_id: who.team, name: `installer-${who.user.toLowerCase()}` });
    const page = await installPage();
    const redirect = standIn.install(page.authorizeUrl, who);
    const back = new URL(redirect).searchParams;
    handedOut.push(back.get('code') ?? '', back.get('state') ?? '');
    return comeBack(redirect, page.cookie);
  }

  const accountOf = (teamId: string) =>
    db.knex('accounts').where({ slack_team_id: teamId, is_enterprise_install: false }).first();
  const membersOf = async (teamId: string) => {
    const account = await accountOf(teamId);
    return db
      .knex('members')
      .where({ account_id: account.id })
      .orderBy('slack_user_id')
      .select('slack_user_id', 'role', 'status', 'display_name');
  };

  /** A slash command from `user` in workspace `team`; the ack's text. */
  async function command(team: string, user: string, text: string, extra: Record<string, string> = {}) {
    const ack = await running.slack.command(user, text, { team_id: team, ...extra });
    // `raw` is the whole answer, blocks included.
    return { status: ack.status, text: String(ack.json?.text ?? ack.text), raw: ack.text };
  }

  it('/slack/install links to Slack at SLACK_API_URL with the bot scopes, the redirect URL and a state tied to this browser', async () => {
    const page = await installPage();
    expect(page.res.status).toBe(200);
    expect(page.res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(page.res.headers.get('x-frame-options')).toBe('DENY');
    expect(textOf(page.html)).toMatch(/Whoever installs it in a workspace becomes its first AccountAdmin/);
    const url = new URL(page.authorizeUrl);
    expect(url.origin + url.pathname).toBe(new URL('/oauth/v2/authorize', standIn.apiUrl).toString());
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(url.searchParams.get('scope')?.split(',')).toEqual(BOT_SCOPES);
    expect(url.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/slack/oauth_redirect`);
    const state = url.searchParams.get('state');
    expect(state).toBeTruthy();
    expect(page.cookie).toBe(`${STATE_COOKIE}=${state}`);
    expect(page.setCookie).toMatch(/HttpOnly/);
    // Only a GET starts an install.
    expect((await fetch(`${running.url}/slack/install`, { method: 'POST' })).status).toBe(405);
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

    const token = standIn.tokenOf('T0ONE') as string;
    expect(token).toMatch(/^xoxb-T0ONE-/);
    // The code went back to Slack with the app's credentials and the same redirect URL.
    const exchange = standIn.callsTo('oauth.v2.access')[0];
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
    expect(standIn.callsTo('users.info').find((c) => c.params.user === 'UADA')?.authorization).toBe(`Bearer ${token}`);
    const [row] = await db.knex('installations').select('install_key', 'sealed');
    expect(row.install_key).toBe('T:T0ONE');
    expect(row.sealed).not.toContain('xoxb-');
    expect(row.sealed).not.toContain(token);
    const audit = await db.knex('audit_log').where({ account_id: account.id }).orderBy('id');
    expect(audit.map((a) => [a.action, a.actor, a.source])).toEqual([
      ['member.bootstrapped', 'UADA', 'slack_install'],
      ['app.installed', 'UADA', 'slack_install'],
    ]);

    // Slack's requests from that workspace are served with its own token.
    expect((await command('T0ONE', 'UADA', 'whoami')).text).toMatch(/You are an \*AccountAdmin\* of \*One Inc\*/);
    const { text } = await command('T0ONE', 'UADA', 'invite <@UCAROL>');
    expect(text).not.toMatch(/another Slack workspace/);
    standIn.addUser({ id: 'UCAROL', team_id: 'T0ONE' });
    await waitFor(() => standIn.dmsTo('UCAROL').length === 1, 5_000, 'the invitation DM');
    expect(standIn.dmsTo('UCAROL')[0]?.authorization).toBe(`Bearer ${token}`);
  });

  it('finishes an install only in the browser that started it, and not when the person cancels', async () => {
    const page = await installPage();
    const who = { user: 'UADA', team: 'T0ONE' };
    // No state cookie (another browser), then a cookie from another install attempt.
    const noCookie = await comeBack(standIn.install(page.authorizeUrl, who), undefined);
    expect(noCookie.status).toBe(400);
    expect(noCookie.text).toMatch(/started in another browser or more than 10 minutes ago/);
    const other = await installPage();
    const wrongCookie = await comeBack(standIn.install(page.authorizeUrl, who), other.cookie);
    expect(wrongCookie.status).toBe(400);
    const cancelled = await comeBack(standIn.install(page.authorizeUrl, who, { deny: true }), page.cookie);
    expect(cancelled.text).toMatch(/The installation was cancelled; nothing was changed/);
    // A code Slack does not honour (used, forged) ends the same way.
    const fresh = await installPage();
    const forged = new URL(standIn.install(fresh.authorizeUrl, who));
    forged.searchParams.set('code', 'not-a-code');
    const refused = await comeBack(forged.toString(), fresh.cookie);
    expect(refused.status).toBe(502);
    expect(refused.text).toMatch(/could not be completed/);
    expect(refused.text).not.toMatch(/invalid_code|Error|at /);

    expect(standIn.callsTo('oauth.v2.access')).toHaveLength(1);
    expect(await db.knex('installations').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    expect(await db.knex('accounts').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    expect(await db.knex('members').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('keeps workspaces apart: an admin of one can neither see nor change the members of another', async () => {
    await install({ user: 'UADA', team: 'T0ONE', teamName: 'One Inc' });
    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    const one = await accountOf('T0ONE');
    const two = await accountOf('T0TWO');
    expect(one.id).not.toBe(two.id);
    await insertMembers(db.knex, { ...one, slackTeamId: 'T0ONE' }, [{ slackUserId: 'UONEUSER', displayName: 'Olive' }]);
    await insertMembers(db.knex, { ...two, slackTeamId: 'T0TWO' }, [{ slackUserId: 'UTWOUSER', displayName: 'Tess' }]);
    const twoBefore = await membersOf('T0TWO');

    // What each admin lists is their own workspace's account.
    const listOne = await command('T0ONE', 'UADA', 'list');
    expect(listOne.text).toMatch(/Members of One Inc\* — 2 in all/);
    expect(listOne.raw).toContain('UONEUSER');
    expect(listOne.raw).not.toMatch(/UTWOUSER|UBEA|Tess/);
    const listTwo = await command('T0TWO', 'UBEA', 'list');
    expect(listTwo.raw).toContain('UTWOUSER');
    expect(listTwo.raw).not.toMatch(/UONEUSER|UADA|Olive/);

    // Naming another workspace's member changes nothing there.
    for (const text of ['role <@UTWOUSER> admin', 'remove <@UTWOUSER>', 'role <@UBEA> user', 'remove <@UBEA>']) {
      const body = running.slack.commandBody('UADA', text, { team_id: 'T0ONE' });
      const responseUrl = String(body.get('response_url'));
      const ack = await running.slack.post(body.toString());
      const answer = String(
        ack.json?.text ??
          (await waitFor(() => standIn.responseUrlPosts.find((p) => responseUrl.endsWith(p.id)), 5_000, text)).body
            .text,
      );
      expect(answer, text).toMatch(/not an active member of this account/);
    }
    // Being an admin of one workspace gives nothing in another.
    const stranger = await command('T0ONE', 'UBEA', 'list');
    expect(stranger.text).toMatch(/not registered in this ChatBees account/);
    expect(stranger.raw).not.toContain('UONEUSER');
    expect(await membersOf('T0TWO')).toEqual(twoBefore);
    // The refusal is recorded after it is answered.
    const refusals = await waitFor(
      async () => {
        const rows = await db.knex('audit_log').where({ account_id: one.id, action: 'access.refused' });
        return rows.length > 0 && rows;
      },
      5_000,
      'the refusal in the audit log',
    );
    expect(refusals.map((r) => r.actor)).toEqual(['UBEA']);
    expect(await db.knex('audit_log').where({ account_id: two.id }).whereNot({ source: 'slack_install' })).toEqual([]);
  });

  it('registers an invitee of one workspace through the pages, and tells them with that workspace token', async () => {
    await install({ user: 'UADA', team: 'T0ONE', teamName: 'One Inc' });
    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    standIn.addUser({ id: 'UTINA', team_id: 'T0TWO', name: 'Tina' });
    const tokenTwo = standIn.tokenOf('T0TWO') as string;
    await command('T0TWO', 'UBEA', 'invite <@UTINA>');
    const dm = await waitFor(() => standIn.dmsTo('UTINA')[0], 5_000, 'the invitation');
    expect(dm.authorization).toBe(`Bearer ${tokenTwo}`);
    const url = /<(https:\/\/bees\.example\.test\/register\/[^|>]+)\|/.exec(String(dm.params.text))?.[1] as string;
    const path = new URL(url).pathname;
    // Sign in with Slack is set up (the same client id and secret): the invitee shows who they are.
    const session = new PageSession(running.url);
    const page = await session.signInAs(path, standIn, { user: 'UTINA', team: 'T0TWO' });
    expect(textOf(page.html)).toMatch(/join Two Ltd/);
    const confirmed = await session.submit(path, page.html);
    expect(confirmed.status).toBe(200);
    expect(await membersOf('T0TWO')).toContainEqual(
      expect.objectContaining({ slack_user_id: 'UTINA', role: 'AccountUser' }),
    );
    expect((await membersOf('T0ONE')).map((m) => m.slack_user_id)).toEqual(['UADA']);
    // The inviter hears of it, and the new member is welcomed, through workspace two's bot.
    const told = await waitFor(
      () => standIn.dmsTo('UBEA').find((c) => /UTINA/.test(String(c.params.text))),
      5_000,
      'told',
    );
    expect(told.authorization).toBe(`Bearer ${tokenTwo}`);
    const welcome = await waitFor(() => standIn.dmsTo('UTINA')[1], 5_000, 'welcome');
    expect(welcome.authorization).toBe(`Bearer ${tokenTwo}`);
  });

  it("a workspace's links do not work while the app is uninstalled there, and work again after a re-install", async () => {
    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    standIn.addUser({ id: 'UTINA', team_id: 'T0TWO', name: 'Tina' });
    await command('T0TWO', 'UBEA', 'invite <@UTINA>');
    const dm = await waitFor(() => standIn.dmsTo('UTINA')[0], 5_000, 'the invitation');
    const url = /<(https:\/\/bees\.example\.test\/register\/[^|>]+)\|/.exec(String(dm.params.text))?.[1] as string;
    const path = new URL(url).pathname;
    const session = new PageSession(running.url);
    const page = await session.signInAs(path, standIn, { user: 'UTINA', team: 'T0TWO' });
    expect(page.html).toContain('Confirm and join');

    const since = running.logs.length;
    await running.slack.event(
      { type: 'app_uninstalled' },
      { team_id: 'T0TWO', authorizations: [{ team_id: 'T0TWO', user_id: 'UBOT1', is_bot: true }] },
    );
    await handled(running, 'app_uninstalled', 1, since);
    const refused = await session.submit(path, page.html);
    expect(refused.status).toBe(403);
    expect(textOf(refused.html)).toContain('ChatBees Users is not installed in this Slack workspace now');
    expect((await session.go(path)).status).toBe(403);
    expect((await membersOf('T0TWO')).map((m) => m.slack_user_id)).toEqual(['UBEA']);

    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    const again = await session.signInAs(path, standIn, { user: 'UTINA', team: 'T0TWO' });
    expect((await session.submit(path, again.html)).status).toBe(200);
    expect(await membersOf('T0TWO')).toContainEqual(
      expect.objectContaining({ slack_user_id: 'UTINA', status: 'active' }),
    );
  });

  it('forgets the tokens on app_uninstalled and keeps the members; a re-install picks the account up unchanged', async () => {
    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    const two = await accountOf('T0TWO');
    await insertMembers(db.knex, { ...two, slackTeamId: 'T0TWO' }, [{ slackUserId: 'UTWOUSER' }]);
    const members = await membersOf('T0TWO');

    const since = running.logs.length;
    const res = await running.slack.event(
      { type: 'app_uninstalled' },
      { team_id: 'T0TWO', authorizations: [{ team_id: 'T0TWO', user_id: 'UBOT1', is_bot: true }] },
    );
    expect(res.status).toBe(200);
    await handled(running, 'app_uninstalled', 1, since);
    expect(await db.knex('installations').where({ install_key: 'T:T0TWO' })).toEqual([]);
    expect(await membersOf('T0TWO')).toEqual(members);
    const uninstalled = await db.knex('audit_log').where({ account_id: two.id, action: 'app.uninstalled' });
    expect(uninstalled).toHaveLength(1);
    expect(uninstalled[0]).toMatchObject({ actor: 'Slack', source: 'slack_event' });

    // Nothing is served to that workspace any more, and nothing changes.
    const before = standIn.calls.length;
    const logsBefore = running.logs.length;
    const refused = await command('T0TWO', 'UBEA', 'remove <@UTWOUSER>');
    expect(refused.status).toBe(200);
    expect(refused.text).not.toMatch(/removed/i);
    const logged = running.logs.slice(logsBefore).map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(logged.map((l) => l.msg)).toContain('request from a workspace where the app is not installed; ignored');
    expect(logged.filter((l) => l.level >= 50)).toEqual([]);
    expect(await membersOf('T0TWO')).toEqual(members);
    expect(standIn.calls.slice(before).filter((c) => c.method === 'chat.postMessage')).toEqual([]);

    // Someone else installs it again: same account, same members, no new admin.
    const again = await install({ user: 'UNEWBIE', team: 'T0TWO', teamName: 'Two Ltd' });
    expect(again.status).toBe(200);
    expect(again.text).toMatch(/installed again/);
    expect(again.text).toMatch(/already has AccountAdmins/);
    expect((await accountOf('T0TWO')).id).toBe(two.id);
    expect(await membersOf('T0TWO')).toEqual(members);
    expect((await command('T0TWO', 'UBEA', 'whoami')).text).toMatch(/You are an \*AccountAdmin\*/);
    // The audit log tells the story.
    const audit = (await command('T0TWO', 'UBEA', 'audit')).raw;
    expect(audit).toContain('<@UBEA> installed the app and became an AccountAdmin');
    expect(audit).toContain('The app was uninstalled in Slack; its tokens were deleted, members kept');
    expect(audit).toContain('<@UNEWBIE> installed the app in Slack again');
  });

  it('forgets the tokens when the bot token is revoked, not when only user tokens are', async () => {
    await install({ user: 'UBEA', team: 'T0TWO' });
    const revoke = (tokens: Record<string, string[]>) =>
      running.slack.event(
        { type: 'tokens_revoked', tokens },
        { team_id: 'T0TWO', authorizations: [{ team_id: 'T0TWO', user_id: 'UBOT1', is_bot: true }] },
      );
    let since = running.logs.length;
    await revoke({ oauth: ['UBEA'] });
    await handled(running, 'tokens_revoked', 1, since);
    expect(await db.knex('installations').where({ install_key: 'T:T0TWO' })).toHaveLength(1);
    since = running.logs.length;
    await revoke({ bot: ['UBOT1'] });
    await handled(running, 'tokens_revoked', 1, since);
    expect(await db.knex('installations').where({ install_key: 'T:T0TWO' })).toEqual([]);
    expect(await membersOf('T0TWO')).toHaveLength(1);
  });

  it('makes the installer an AccountAdmin on a re-install when every admin was deactivated in Slack', async () => {
    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    const since = running.logs.length;
    await running.slack.event(
      { type: 'user_change', user: { id: 'UBEA', team_id: 'T0TWO', deleted: true } },
      { team_id: 'T0TWO', authorizations: [{ team_id: 'T0TWO', user_id: 'UBOT1', is_bot: true }] },
    );
    await handled(running, 'user_change', 1, since);
    expect((await command('T0TWO', 'UBEA', 'whoami')).text).toMatch(/install the app again/);
    const again = await install({ user: 'UNEWBIE', team: 'T0TWO' });
    expect(again.text).toMatch(/You are its first AccountAdmin/);
    const members = await membersOf('T0TWO');
    expect(members.map((m) => [m.slack_user_id, m.role, m.status])).toEqual([
      ['UBEA', 'AccountAdmin', 'active'],
      ['UNEWBIE', 'AccountAdmin', 'active'],
    ]);
    // The new admin can act, and the warning is gone.
    expect((await command('T0TWO', 'UNEWBIE', 'whoami')).text).not.toMatch(/deactivated/);
  });

  it('serves every workspace of an Enterprise Grid org from one account after an org-wide install', async () => {
    const done = await install({
      user: 'UORGADMIN',
      team: 'T0GRIDA',
      enterprise: { id: 'E0GRID', name: 'Grid Corp' },
      orgWide: true,
    });
    expect(done.status).toBe(200);
    const org = await db.knex('accounts').where({ slack_enterprise_id: 'E0GRID', is_enterprise_install: true }).first();
    expect(org).toMatchObject({ name: 'Grid Corp', slack_team_id: null });
    expect(await db.knex('installations').pluck('install_key')).toEqual(['E:E0GRID']);
    // From any workspace of the org, the same account answers.
    for (const team of ['T0GRIDA', 'T0GRIDB']) {
      const answer = await command(team, 'UORGADMIN', 'whoami', {
        enterprise_id: 'E0GRID',
        is_enterprise_install: 'true',
      });
      expect(answer.text, team).toMatch(/You are an \*AccountAdmin\* of \*Grid Corp\*/);
    }
    // A button (here the Home tab's) from another workspace of the org: the org's account, and
    // the org's token to open the console.
    const calls = standIn.calls.length;
    const pressed = await running.slack.blockAction(
      'UORGADMIN',
      { action_id: OPEN_CONSOLE_FROM_HOME },
      {},
      {
        user: { id: 'UORGADMIN', team_id: 'T0GRIDB', username: 'uorgadmin' },
        team: { id: 'T0GRIDB', domain: 'grid-b', enterprise_id: 'E0GRID' },
        enterprise: { id: 'E0GRID', name: 'Grid Corp' },
        is_enterprise_install: true,
      },
    );
    expect(pressed.status).toBe(200);
    const opened = await waitFor(
      () => standIn.calls.slice(calls).find((c) => c.method === 'views.open'),
      5_000,
      'console',
    );
    expect(opened.authorization).toBe(`Bearer ${standIn.tokenOf('E0GRID')}`);
    expect(JSON.stringify(opened.params)).toContain('Grid Corp');
  });

  it('answers anything but GET on the install paths with 405, logging neither the code nor the cookie', async () => {
    const code = `${Date.now()}.headcode`;
    const state = 'head-state-value-0123456789';
    handedOut.push(code, state);
    const since = running.logs.length;
    for (const method of ['HEAD', 'POST', 'PUT']) {
      for (const where of ['/slack/install', `/slack/oauth_redirect?code=${code}&state=${state}`]) {
        const res = await fetch(`${running.url}${where}`, { method, headers: { Cookie: `${STATE_COOKIE}=${state}` } });
        expect(res.status, `${method} ${where}`).toBe(405);
        expect(res.headers.get('allow')).toBe('GET');
      }
    }
    expect(standIn.callsTo('oauth.v2.access')).toEqual([]);
    expect(await db.knex('installations')).toEqual([]);
    const logged = running.logs.slice(since).map((line) => JSON.parse(line) as { level: number });
    expect(logged.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('serves a workspace that installs the app itself after its org-wide install was removed from its own account', async () => {
    const grid = { id: 'E0GRID', name: 'Grid Corp' };
    await install({ user: 'UORGADMIN', team: 'T0GRIDA', enterprise: grid, orgWide: true });
    let since = running.logs.length;
    await running.slack.event(
      { type: 'app_uninstalled' },
      {
        team_id: 'T0GRIDA',
        enterprise_id: 'E0GRID',
        authorizations: [
          { team_id: null, enterprise_id: 'E0GRID', user_id: 'UBOT1', is_bot: true, is_enterprise_install: true },
        ],
      },
    );
    await handled(running, 'app_uninstalled', 1, since);
    expect(await db.knex('installations')).toEqual([]);

    // A workspace of that org installs the app on its own.
    const done = await install({ user: 'UWSADMIN', team: 'T0GRIDA', teamName: 'Grid A', enterprise: grid });
    expect(done.text).toMatch(/You are its first AccountAdmin/);
    const fromWorkspace = await command('T0GRIDA', 'UWSADMIN', 'whoami', {
      enterprise_id: 'E0GRID',
      is_enterprise_install: 'false',
    });
    expect(fromWorkspace.text).toMatch(/You are an \*AccountAdmin\* of \*Grid A\*/);
    // The org's admin is not a member of the workspace's account, and its old account is untouched.
    const orgAdmin = await command('T0GRIDA', 'UORGADMIN', 'list', {
      enterprise_id: 'E0GRID',
      is_enterprise_install: 'false',
    });
    expect(orgAdmin.text).not.toMatch(/UWSADMIN/);
    expect(orgAdmin.text).toMatch(/You are not registered in this ChatBees account/);
    const org = await db.knex('accounts').where({ slack_enterprise_id: 'E0GRID', is_enterprise_install: true }).first();
    expect(await db.knex('members').where({ account_id: org.id }).pluck('slack_user_id')).toEqual(['UORGADMIN']);

    // A user_change from that workspace is the workspace's account's too.
    since = running.logs.length;
    await running.slack.event(
      { type: 'user_change', user: { id: 'UORGADMIN', team_id: 'T0GRIDA', enterprise_id: 'E0GRID', deleted: true } },
      {
        team_id: 'T0GRIDA',
        enterprise_id: 'E0GRID',
        authorizations: [{ team_id: 'T0GRIDA', enterprise_id: 'E0GRID', user_id: 'UBOT2', is_bot: true }],
      },
    );
    await handled(running, 'user_change', 1, since);
    expect(await db.knex('members').where({ account_id: org.id }).first()).toMatchObject({
      status: 'active',
      slack_deactivated_at: null,
    });
  });

  it('keeps the tokens of a re-install when an older uninstall event arrives late', async () => {
    await install({ user: 'UBEA', team: 'T0TWO' });
    const uninstall = (secondsAgo: number) =>
      running.slack.event(
        { type: 'app_uninstalled' },
        {
          team_id: 'T0TWO',
          event_time: Math.floor(Date.now() / 1000) - secondsAgo,
          authorizations: [{ team_id: 'T0TWO', user_id: 'UBOT1', is_bot: true }],
        },
      );
    let since = running.logs.length;
    // Slack redelivers an hour-old event (the app has been installed again since).
    await uninstall(3600);
    await handled(running, 'app_uninstalled', 1, since);
    expect(await db.knex('installations').pluck('install_key')).toEqual(['T:T0TWO']);
    expect(await db.knex('audit_log').where({ action: 'app.uninstalled' })).toEqual([]);
    expect((await command('T0TWO', 'UBEA', 'whoami')).text).toMatch(/You are an \*AccountAdmin\*/);
    // The uninstall of now removes them.
    since = running.logs.length;
    await uninstall(0);
    await handled(running, 'app_uninstalled', 1, since);
    expect(await db.knex('installations')).toEqual([]);
  });

  it('tells the person, and logs an error, when the installation cannot be read (not "not installed")', async () => {
    await install({ user: 'UBEA', team: 'T0TWO' });
    await db.knex('installations').where({ install_key: 'T:T0TWO' }).update({ sealed: 'v1.AAAA.BBBB.CCCC' });
    const before = await membersOf('T0TWO');
    const since = running.logs.length;
    // A response URL slower than Slack's 3 seconds for the ack does not hold the ack back.
    standIn.responseUrlDelayMs = 3_500;
    const ack = await command('T0TWO', 'UBEA', 'remove <@UBEA>');
    expect(ack.status).toBe(200);
    expect(ack.raw).toBe('');
    const told = await waitFor(() => standIn.responseUrlPosts[0], 5_000, 'response_url answer');
    expect(told.body).toMatchObject({ response_type: 'ephemeral', text: INSTALLATION_UNREADABLE });
    expect(await membersOf('T0TWO')).toEqual(before);
    // A response URL that is not Slack's is not posted to (here: the stand-in under another origin).
    standIn.responseUrlDelayMs = 0;
    const elsewhere = standIn
      .responseUrl()
      .replace('127.0.0.1', 'localhost')
      .replace(/[^/]+$/, 'elsewhere');
    expect(new URL(elsewhere).origin).not.toBe(new URL(standIn.apiUrl).origin);
    await command('T0TWO', 'UBEA', 'whoami', { response_url: elsewhere });
    await command('T0TWO', 'UBEA', 'whoami');
    await waitFor(() => standIn.responseUrlPosts[1], 5_000, 'second response_url answer');
    expect(standIn.responseUrlPosts.map((p) => p.id)).not.toContain('elsewhere');
    const logged = await waitFor(
      () => {
        const lines = running.logs.slice(since).map((line) => JSON.parse(line) as { level: number; msg: string });
        return lines.some((l) => l.msg === 'request') ? lines : undefined;
      },
      5_000,
      'request line',
    );
    const errors = logged.filter((l) => l.level >= 50).map((l) => l.msg);
    expect(errors).toContain("the workspace's installation could not be read");
    expect(logged.map((l) => l.msg)).not.toContain('request from a workspace where the app is not installed; ignored');
  });

  // Last: the logs of everything above, at debug level (where Bolt and the Web API client log
  // requests and responses).
  it('never logs the app credentials, the token key, OAuth codes or states, or a workspace token', () => {
    const text = running.logs.join('\n');
    expect(running.config.logLevel).toBe(process.env.TEST_LOG_LEVEL ?? 'debug');
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

describe('multi-workspace mode as a process', () => {
  it('starts from the environment alone, with no bot token and no call to Slack, and serves installs', async () => {
    const standIn = await new SlackStandIn().start();
    const dir = mkdtempSync(path.join(tmpdir(), 'chatbees-users-multi-'));
    let bot: BotProcess | undefined;
    try {
      bot = await spawnBot(
        {
          ...MULTI_ENV,
          SLACK_SIGNING_SECRET: SIGNING_SECRET,
          SLACK_API_URL: standIn.apiUrl,
          PUBLIC_URL,
          REGISTRATION_LINK_SECRET: 'multi-workspace-process-link-secret-0123456789',
          PGLITE_DATA_DIR: path.join(dir, 'pglite'),
        },
        60_000,
      );
      const serving = JSON.parse(bot.output.find((l) => l.includes('chatbees-users is serving')) as string);
      expect(serving.workspaces).toBe(`every one that installs the app (${PUBLIC_URL}/slack/install)`);
      const page = await fetch(`${bot.url}/slack/install`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Add to Slack');
      expect(standIn.calls).toEqual([]);

      // A stop while Slack is slow to exchange an install's code waits for that install.
      const started = await fetch(`${bot.url}/slack/install`);
      const cookie = (started.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const href = /<a class="button" href="([^"]+)">/.exec(await started.text())?.[1] ?? '';
      standIn.addUser({ id: 'UPROC', team_id: 'T0PROC', name: 'proc-admin' });
      const redirect = new URL(standIn.install(unescapeHtml(href), { user: 'UPROC', team: 'T0PROC' }));
      standIn.fail('oauth.v2.access', { delayMs: 1_500 });
      const back = fetch(`${bot.url}${redirect.pathname}${redirect.search}`, { headers: { Cookie: cookie } });
      await waitFor(() => standIn.callsTo('oauth.v2.access')[0], 5_000, 'the code exchange');
      const [installed, exit] = await Promise.all([back, bot.stop('SIGTERM')]);
      expect(installed.status).toBe(200);
      expect(textOf(await installed.text())).toMatch(/You are its first AccountAdmin/);
      expect(exit).toEqual({ code: 0, signal: null });
      const text = bot.output.join('\n');
      for (const secret of [CLIENT_SECRET, STATE_SECRET, TOKEN_KEY]) expect(text).not.toContain(secret);
    } finally {
      await bot?.stop('SIGKILL');
      await standIn.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
