// The registration pages under test: the real bot on a free port (UADMIN1, "ada", its AccountAdmin),
// a Slack stand-in knowing the people the tests invite, a fresh database per backend; and what the
// tests do with them: invite from Slack or through the service, open a personal link (GET), confirm
// it (POST), read what changed. Every test starts from the same state: the account back to its one
// AccountAdmin, no invites, an empty audit log, the stand-in's calls forgotten, a clock back at its
// start, and nothing an earlier test set off (DMs after a registration) still arriving.
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { type RunningBot, resetAccount, startTestBot } from './bot.js';
import type { BackendUnderTest, TestDatabase } from './databases.js';
import { PUBLIC_URL, snapshot, TestClock } from './fixtures.js';
import { linkButtonUrl, SlackStandIn, waitFor } from './slack-stand-in.js';

export interface Page {
  status: number;
  headers: Headers;
  html: string;
}

export interface Opened extends Page {
  /** `name=value` from Set-Cookie, ready for a Cookie header. */
  cookie: string | undefined;
  csrf: string | undefined;
}

/** The people the stand-in knows: the two admins-to-be and one invitee per test, plus a name with HTML in it. */
const PEOPLE: Array<[id: string, name: string]> = [
  ['UADMIN1', 'ada'],
  ['UADMIN2', 'cleo'],
  ['UBOB001', 'bob'],
  ['UCAROL1', 'carol'],
  ['UDAVE01', 'dave'],
  ['UERIN01', 'erin'],
  ['UFRANK1', 'frank'],
  ['UGINA01', 'gina'],
  ['UHANK01', 'hank'],
  ['UIVY001', 'ivy'],
  ['UJUDE01', 'jude'],
  ['UKAI001', 'kai'],
  ['ULEO001', 'leo'],
  ['UMAX001', 'max'],
  ['UNED001', 'ned'],
  ['UOTTO01', 'otto'],
  ['UXSS001', '<script>alert(1)</script>'],
];

/** How long the bot must have done nothing (no Slack call, no log line) before the next test starts. */
const QUIET_MS = 150;

function csrfOf(html: string): string | undefined {
  return /<input type="hidden" name="csrf" value="([^"]*)">/.exec(html)?.[1];
}

function cookieOf(headers: Headers): string | undefined {
  const setCookie = headers.get('set-cookie');
  return setCookie ? setCookie.split(';')[0] : undefined;
}

/** What a browser shows: tags stripped, entities left as they are. */
export function textOf(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');
}

export function expectPageHeaders(page: Page): void {
  const h = page.headers;
  expect(h.get('content-type')).toMatch(/^text\/html; charset=utf-8$/i);
  expect(h.get('cache-control')).toBe('no-store');
  expect(h.get('referrer-policy')).toBe('no-referrer');
  expect(h.get('x-content-type-options')).toBe('nosniff');
  expect(h.get('x-frame-options')).toBe('DENY');
  const csp = (h.get('content-security-policy') ?? '').split(';').map((d) => d.trim());
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp.some((d) => /^script-src/.test(d))).toBe(false);
  expect(page.html).not.toMatch(/<script/i);
  expect(page.html).not.toMatch(/<[^>]*\son[a-z]+\s*=/i);
}

/** The invite's personal link with one character of its signature changed. */
export function tamperSignature(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const i = 10;
  const swapped = signature[i] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${signature.slice(0, i)}${swapped}${signature.slice(i + 1)}`;
}

/**
 * One bot on a database of `backend` for a describe block, started before its tests and stopped
 * after them, its account reset before each test. `db`, `standIn`, `running` and `clock` are read
 * inside tests (they exist once the block has started); the functions can be destructured.
 */
export function registrationBot(backend: BackendUnderTest) {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let running: RunningBot;
  let clock = new TestClock();

  beforeAll(async () => {
    db = await backend.open();
    standIn = await new SlackStandIn().start();
    for (const [id, name] of PEOPLE) standIn.addUser({ id, name });
    // The clock is read through `clock`, so each test can have a new one.
    running = await startTestBot({
      db,
      standIn,
      env: { INITIAL_ADMINS: 'UADMIN1' },
      now: () => clock.now(),
    });
  });

  afterAll(async () => {
    await running?.stop();
    await standIn?.stop();
    await db?.close();
  });

  beforeEach(async () => {
    await quiet();
    await resetAccount(running, db, standIn, [{ slackUserId: 'UADMIN1', role: 'AccountAdmin', displayName: 'ada' }]);
    clock = new TestClock();
  });

  /** Waits until what an earlier test set off (DMs after a registration, a command's answers) is done. */
  async function quiet(): Promise<void> {
    const activity = () => `${standIn.calls.length} ${standIn.responseUrlPosts.length} ${running.logs.length}`;
    const deadline = Date.now() + 5_000;
    let last = activity();
    let since = Date.now();
    while (Date.now() - since < QUIET_MS && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      const now = activity();
      if (now !== last) {
        last = now;
        since = Date.now();
      }
    }
  }

  const accountId = () => running.account.id;

  async function memberRow(slackUserId: string) {
    return db.knex('members').where({ account_id: accountId(), slack_user_id: slackUserId }).first();
  }

  async function inviteRowFor(slackUserId: string) {
    return db
      .knex('invites')
      .where({ account_id: accountId(), for_slack_user_id: slackUserId })
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .first();
  }

  /** `/chatbees-users invite @user` from Slack; resolves with the path of the link the DM carries. */
  async function inviteFromSlack(slackUserId: string, by = 'UADMIN1'): Promise<string> {
    const before = standIn.dmsTo(slackUserId).length;
    const answers = standIn.responseUrlPosts.length;
    const ack = await running.slack.command(by, `invite <@${slackUserId}|someone>`);
    expect(ack.status).toBe(200);
    const dm = await waitFor(() => standIn.dmsTo(slackUserId)[before], 10_000, `invitation DM to ${slackUserId}`);
    // The admin's answer comes once the invitation is done (its DM's place recorded too).
    await waitFor(() => standIn.responseUrlPosts.length > answers, 10_000, "the admin's answer");
    const url = linkButtonUrl(dm);
    expect(url).toMatch(new RegExp(`^${PUBLIC_URL}/register/[^/?#]+$`));
    return new URL(url as string).pathname;
  }

  /** An invite made through the service, as the slash command would. */
  async function inviteDirectly(slackUserId: string, displayName?: string) {
    const created = await running.bot.services.invites.create(
      { accountId: accountId(), slackUserId: 'UADMIN1', source: 'slash_command' },
      { forSlackUserId: slackUserId, forDisplayName: displayName ?? null },
    );
    if (!created.ok) throw new Error(created.reason);
    return { ...created, path: new URL(created.url as string).pathname };
  }

  async function request(path: string, init: RequestInit = {}): Promise<Page> {
    const res = await fetch(`${running.url}${path}`, { redirect: 'manual', ...init });
    return { status: res.status, headers: res.headers, html: await res.text() };
  }

  async function open(path: string, headers: Record<string, string> = {}): Promise<Opened> {
    const page = await request(path, { headers });
    return { ...page, cookie: cookieOf(page.headers), csrf: csrfOf(page.html) };
  }

  async function confirm(
    path: string,
    form: { cookie?: string; csrf?: string },
    headers: Record<string, string> = {},
  ): Promise<Page> {
    const body = new URLSearchParams(form.csrf === undefined ? {} : { csrf: form.csrf }).toString();
    return request(path, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        ...(form.cookie ? { Cookie: form.cookie } : {}),
        ...headers,
      },
      body,
    });
  }

  /** GET then POST, as a browser does when the invitee presses the button. */
  async function register(path: string): Promise<Page> {
    const page = await open(path);
    expect(page.status).toBe(200);
    return confirm(path, { cookie: page.cookie, csrf: page.csrf }, { Origin: new URL(PUBLIC_URL).origin });
  }

  return {
    get db() {
      return db;
    },
    get standIn() {
      return standIn;
    },
    get running() {
      return running;
    },
    /** This test's clock: the bot's `now`, moved by hand. */
    get clock() {
      return clock;
    },
    accountId,
    /** Everything stored about the account, to show a request changed nothing. */
    snapshot: () => snapshot(db.knex, accountId()),
    memberRow,
    inviteRowFor,
    inviteFromSlack,
    inviteDirectly,
    request,
    open,
    confirm,
    register,
  };
}
