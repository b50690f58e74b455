// Multi-workspace mode under test: the bot with no bot token of its own and the app's OAuth
// credentials, against the Web API stand-in; and what a browser and Slack do with it (the install
// page, Slack's consent page, the way back), one workspace at a time.
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { PUBLIC_URL, type RunningBot, startTestBot } from './bot.js';
import type { BackendUnderTest, TestDatabase } from './databases.js';
import { CLIENT_ID, CLIENT_SECRET, type Installing, SlackStandIn } from './slack-stand-in.js';

export const STATE_SECRET = 'state-secret-for-the-oauth-flow-0123456789';
export const TOKEN_KEY = 'token-encryption-key-for-tests-0123456789';
export const STATE_COOKIE = 'slack-app-oauth-state';

/** The environment of multi-workspace mode: no bot token, the app's credentials instead. */
export const MULTI_ENV = {
  SLACK_BOT_TOKEN: '',
  SLACK_CLIENT_ID: CLIENT_ID,
  SLACK_CLIENT_SECRET: CLIENT_SECRET,
  SLACK_STATE_SECRET: STATE_SECRET,
  SLACK_TOKEN_ENCRYPTION_KEY: TOKEN_KEY,
};

/** What a browser shows: tags stripped, entities left as they are. */
export function textOf(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');
}

/** The characters an escaped attribute stands for (an href, as a browser follows it). */
export const unescapeHtml = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');

/**
 * One multi-workspace bot for a describe block, on a database of `backend`: started before the
 * tests, stopped after them. Before each test the database is emptied (no account, no
 * installation) and the stand-in forgets its calls and faults: a test installs what it needs.
 */
export function multiWorkspaceBot(backend: BackendUnderTest) {
  const t = {} as { db: TestDatabase; standIn: SlackStandIn; running: RunningBot };

  beforeAll(async () => {
    t.db = await backend.open();
    t.standIn = await new SlackStandIn().start();
    t.running = await startTestBot({ db: t.db, standIn: t.standIn, env: MULTI_ENV });
  });
  afterAll(async () => {
    await t.running?.stop();
    await t.standIn?.stop();
    await t.db?.close();
  });
  beforeEach(async () => {
    for (const table of ['slack_request_claims', 'audit_log', 'invites', 'members', 'installations', 'accounts']) {
      await t.db.knex(table).del();
    }
    t.standIn.reset();
  });

  /** GET /slack/install as a browser: the page, its state cookie and the authorize URL it links to. */
  async function installPage() {
    const res = await fetch(`${t.running.url}/slack/install`, { redirect: 'manual' });
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
    const res = await fetch(`${t.running.url}${back.pathname}${back.search}`, {
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
    t.standIn.addUser({ id: who.user, team_id: who.team, name: `installer-${who.user.toLowerCase()}` });
    const page = await installPage();
    const redirect = t.standIn.install(page.authorizeUrl, who);
    const back = new URL(redirect).searchParams;
    handedOut.push(back.get('code') ?? '', back.get('state') ?? '');
    return comeBack(redirect, page.cookie);
  }

  const accountOf = (teamId: string) =>
    t.db.knex('accounts').where({ slack_team_id: teamId, is_enterprise_install: false }).first();
  const membersOf = async (teamId: string) => {
    const account = await accountOf(teamId);
    return t.db
      .knex('members')
      .where({ account_id: account.id })
      .orderBy('slack_user_id')
      .select('slack_user_id', 'role', 'status', 'display_name');
  };

  /** A slash command from `user` in workspace `team`; the ack's text. */
  async function command(team: string, user: string, text: string, extra: Record<string, string> = {}) {
    const ack = await t.running.slack.command(user, text, { team_id: team, ...extra });
    // `raw` is the whole answer, blocks included.
    return { status: ack.status, text: String(ack.json?.text ?? ack.text), raw: ack.text };
  }

  return Object.assign(t, { installPage, comeBack, handedOut, install, accountOf, membersOf, command });
}
