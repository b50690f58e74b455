// The registration pages in a real browser (Debian's Chromium through playwright-core): what
// an HTTP client cannot see — the page's CSP applied to forms and redirects, cookies across
// Slack's site and ours, a phone's screen. The real bot on a real port (PUBLIC_URL points at
// it), the Slack stand-in on another site (localhost, Slack's consent page included), PGlite.
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { linkDigest } from '../../src/web/links.js';
import { freePort, type RunningBot, startTestBot } from '../support/bot.js';
import { browserSuite, launchChromium, openPage, type WatchedPage } from '../support/browser.js';
import { openPgliteTestDatabase, type TestDatabase } from '../support/databases.js';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  linkButtonUrl,
  type SigningIn,
  SlackStandIn,
  TEAM_NAME,
  waitFor,
} from '../support/slack-stand-in.js';

const PEOPLE: Array<[string, string]> = [
  ['UADMIN1', 'ada'],
  ['UBOB001', 'bob'],
  ['UCAROL1', 'carol'],
  ['UDAVE01', 'dave'],
  ['UERIN01', 'erin'],
  ['UFRANK1', 'frank'],
  ['UGINA01', 'gina'],
  ['UHANK01', 'hank'],
];
const DAY_MS = 86_400_000;
const PHONE = { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

interface Stage {
  db: TestDatabase;
  standIn: SlackStandIn;
  running: RunningBot;
  /** How far the bot's clock is ahead of the real one. */
  clockAheadMs: number;
}

/** A bot listening where its PUBLIC_URL says (http://127.0.0.1:PORT), Slack on http://localhost. */
function stage(env: Record<string, string>): Stage {
  const s = { clockAheadMs: 0 } as Stage;
  beforeAll(async () => {
    s.db = await openPgliteTestDatabase();
    s.standIn = await new SlackStandIn().start({ host: 'localhost' });
    for (const [id, name] of PEOPLE) s.standIn.addUser({ id, name });
    const port = await freePort();
    s.running = await startTestBot({
      db: s.db,
      standIn: s.standIn,
      port,
      env: { PUBLIC_URL: `http://127.0.0.1:${port}`, INITIAL_ADMINS: 'UADMIN1', ...env },
      now: () => new Date(Date.now() + s.clockAheadMs),
    });
  });
  afterAll(async () => {
    await s.running?.stop();
    await s.standIn?.stop();
    await s.db?.close();
  });
  return s;
}

/** `/chatbees-users invite <@user>`: the personal link the invitation DM carries. */
async function personalLink(s: Stage, user: string): Promise<string> {
  const before = s.standIn.dmsTo(user).length;
  const ack = await s.running.slack.command('UADMIN1', `invite <@${user}|someone>`);
  expect(ack.status).toBe(200);
  const dm = await waitFor(() => s.standIn.dmsTo(user)[before], 10_000, `invitation DM to ${user}`);
  const url = linkButtonUrl(dm);
  expect(url.startsWith(`${s.running.url}/register/`), url).toBe(true);
  return url;
}

/** `/chatbees-users invite link`: the link for anyone, from the command's answer. */
async function sharedLink(s: Stage): Promise<string> {
  const answer = String((await s.running.slack.command('UADMIN1', 'invite link')).json?.text);
  const url = /<(http:\/\/127\.0\.0\.1:\d+\/register\/[^|>]+)\|/.exec(answer)?.[1];
  if (!url) throw new Error(`no link in: ${answer}`);
  return url;
}

const member = (s: Stage, user: string) =>
  s.db.knex('members').where({ account_id: s.running.account.id, slack_user_id: user }).first();

browserSuite('registration pages in Chromium', { timeout: 25_000 }, () => {
  let browser: Browser;
  let opened: WatchedPage[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  // Every page of every test: no console error or warning (CSP violations are console errors in
  // Chromium), no script error.
  afterEach(async () => {
    const pages = opened;
    opened = [];
    try {
      for (const w of pages) expect(w.newProblems(), 'console errors and page errors').toEqual([]);
    } finally {
      await Promise.all(pages.map((w) => w.close()));
    }
  });

  async function open(url: string, options: Parameters<typeof openPage>[1] = {}): Promise<WatchedPage> {
    const w = await openPage(browser, options);
    opened.push(w);
    await w.follow(() => w.page.goto(url));
    expect(w.newProblems(), `on opening ${url}`).toEqual([]);
    return w;
  }

  /** The text of the page (or of its heading), whitespace collapsed. */
  const text = async (w: WatchedPage, selector = 'body') =>
    ((await w.page.locator(selector).textContent()) ?? '').replace(/\s+/g, ' ').trim();
  const heading = (w: WatchedPage) => text(w, 'h1');

  /** Clicks the control showing `label` (a button or a link, whichever the page uses). */
  async function press(w: WatchedPage, label: string | RegExp): Promise<void> {
    const control = w.page.getByText(label, { exact: typeof label === 'string' });
    await w.follow(() => control.click());
    expect(w.newProblems(), `after pressing ${label}`).toEqual([]);
  }

  /** No sideways scrolling on a 375-px screen, and the page says how to lay itself out there. */
  async function fitsPhone(w: WatchedPage): Promise<void> {
    const width = await w.page.evaluate<number>('document.documentElement.scrollWidth');
    expect(width, `scrollWidth of ${w.page.url()}`).toBeLessThanOrEqual(375);
    expect(await w.page.locator('meta[name="viewport"]').count()).toBe(1);
  }

  /** "Continue with Slack", Slack's consent page on Slack's own site as `who`, "Allow", and back. */
  async function signInWithSlack(w: WatchedPage, s: Stage, who: SigningIn): Promise<void> {
    s.standIn.browserSignIn = who;
    await press(w, 'Continue with Slack');
    const slackOrigin = new URL(s.standIn.apiUrl).origin;
    expect(slackOrigin).not.toBe(new URL(s.running.url).origin);
    expect(new URL(w.page.url()).origin).toBe(slackOrigin);
    expect(new URL(w.page.url()).pathname).toBe('/openid/connect/authorize');
    await press(w, 'Allow');
    expect(new URL(w.page.url()).origin).toBe(new URL(s.running.url).origin);
  }

  describe('personal links, without Sign in with Slack', () => {
    // The pages' limits on (per address well above what these tests send), so that Chromium's
    // requests go through the counts the database keeps.
    const s = stage({ RATE_LIMIT_PER_ADDRESS: '600', RATE_LIMIT_PER_LINK: '20' });

    it('a: opened from the DM and confirmed with a click, registers the person', async () => {
      const url = await personalLink(s, 'UBOB001');
      const w = await open(url);
      expect(w.status()).toBe(200);
      expect(await heading(w)).toBe(`Join ${TEAM_NAME}`);
      expect(await text(w)).toContain('This link is for bob only.');
      expect(await text(w)).toMatch(/The link expires \w{3}, \d{1,2} \w{3} \d{4}, \d{2}:\d{2} UTC\./);
      expect(await member(s, 'UBOB001')).toBeUndefined();

      await press(w, `Confirm and join ${TEAM_NAME}`);
      expect(w.status()).toBe(200);
      expect(await heading(w)).toBe('You are in');
      expect(await member(s, 'UBOB001')).toMatchObject({ status: 'active', role: 'AccountUser' });
      // The page and its confirmation, each counted once against the link.
      const token = decodeURIComponent(new URL(url).pathname.slice('/register/'.length));
      const counted = await s.db
        .knex('rate_limits')
        .where({ key: `page:link:${linkDigest(token)}` })
        .first();
      expect(Number(counted?.points)).toBe(2);
    });

    it('d: an expired link says "Link expired", a revoked one "Link withdrawn"', async () => {
      const expiring = await personalLink(s, 'UCAROL1');
      s.clockAheadMs = 8 * DAY_MS; // past the 7-day default lifetime
      try {
        const w = await open(expiring);
        expect(w.status()).toBe(410);
        expect(await w.page.title()).toMatch(/^Link expired\b/);
        expect(await heading(w)).toBe('Link expired');
      } finally {
        s.clockAheadMs = 0;
      }

      const revoking = await personalLink(s, 'UDAVE01');
      const invite = await s.db.knex('invites').where({ for_slack_user_id: 'UDAVE01' }).first();
      const ack = await s.running.slack.command('UADMIN1', `revoke ${invite.id}`);
      expect(ack.status).toBe(200);
      await waitFor(
        async () => (await s.db.knex('invites').where({ id: invite.id }).first()).revoked_at !== null,
        5_000,
        'the invite revoked',
      );
      const w = await open(revoking);
      expect(w.status()).toBe(410);
      expect(await w.page.title()).toMatch(/^Link withdrawn\b/);
      expect(await heading(w)).toBe('Link withdrawn');
      expect(await member(s, 'UCAROL1')).toBeUndefined();
      expect(await member(s, 'UDAVE01')).toBeUndefined();
    });

    it('e: on a 375-px phone, the confirm and result pages fit the screen', async () => {
      const url = await personalLink(s, 'UERIN01');
      const w = await open(url, PHONE);
      expect(await w.page.evaluate<number>('window.innerWidth')).toBe(375);
      expect(await heading(w)).toBe(`Join ${TEAM_NAME}`);
      await fitsPhone(w);

      const confirm = w.page.getByText(`Confirm and join ${TEAM_NAME}`, { exact: true });
      await w.follow(() => confirm.tap());
      expect(await heading(w)).toBe('You are in');
      await fitsPhone(w);
      expect(await member(s, 'UERIN01')).toMatchObject({ status: 'active' });
    });
  });

  describe('with Sign in with Slack', () => {
    const s = stage({ SLACK_CLIENT_ID: CLIENT_ID, SLACK_CLIENT_SECRET: CLIENT_SECRET });

    it('b: a shared link goes through Slack on its own site and back, then registers the signed-in person', async () => {
      const url = await sharedLink(s);
      const w = await open(url);
      expect(w.status()).toBe(200);
      expect(await text(w)).toContain('Continue with Slack');

      await signInWithSlack(w, s, { user: 'UFRANK1', name: 'Frank Signed' });
      expect(w.page.url()).toBe(url);
      expect(await text(w)).toContain('Signed in with Slack as Frank Signed');
      expect(await member(s, 'UFRANK1')).toBeUndefined();

      await press(w, new RegExp(`^Confirm and join ${TEAM_NAME}$`));
      expect(w.status()).toBe(200);
      expect(await heading(w)).toBe('You are in');
      expect(await member(s, 'UFRANK1')).toMatchObject({ status: 'active', role: 'AccountUser' });
    });

    it('c: a personal link asks who you are: the invitee joins, someone else is refused', async () => {
      const url = await personalLink(s, 'UGINA01');
      const w = await open(url);
      expect(await text(w)).toContain('Continue with Slack');
      await signInWithSlack(w, s, { user: 'UGINA01', name: 'Gina' });
      await press(w, new RegExp(`^Confirm and join ${TEAM_NAME}$`));
      expect(w.status()).toBe(200);
      expect(await heading(w)).toBe('You are in');
      expect(await member(s, 'UGINA01')).toMatchObject({ status: 'active', role: 'AccountUser' });

      const forHank = await personalLink(s, 'UHANK01');
      const other = await open(forHank);
      expect(await text(other)).toContain('Continue with Slack');
      await signInWithSlack(other, s, { user: 'UDAVE01', name: 'Dave' });
      // Refused on the way back from Slack: the page offers nothing to confirm.
      expect(other.status()).toBe(403);
      expect(await other.page.getByText(/^Confirm and join /).count()).toBe(0);
      expect(await text(other)).toContain('This invitation is for');
      expect(await member(s, 'UDAVE01')).toBeUndefined();
      expect(await member(s, 'UHANK01')).toBeUndefined();
    });
  });
});
