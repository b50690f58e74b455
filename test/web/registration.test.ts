// End to end: an AccountAdmin invites someone from Slack, the invitee opens the personal
// registration link from the DM (GET shows a confirm page) and confirms (POST) to become an
// AccountUser. The real bot on a free port, a Slack stand-in, a fresh database per backend.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeInvite } from '../../src/services/operations/revoke-invite.js';
import { RegistrationLinks } from '../../src/services/registration-links.js';
import { Csrf } from '../../src/web/csrf.js';
import { type RunningBot, startTestBot } from '../support/bot.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { LINK_SECRET, PUBLIC_URL, SEVEN_DAYS, TestClock } from '../support/fixtures.js';
import { SlackStandIn, TEAM_NAME, waitFor } from '../support/slack-stand-in.js';

const SLACKBOT_UNFURLER = 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)';
const MAIL_SCANNER = 'Mozilla/5.0 (compatible; SafeLinks-Scanner/2.1; +https://example.com/scanner)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface Page {
  status: number;
  headers: Headers;
  html: string;
}

interface Opened extends Page {
  /** `name=value` from Set-Cookie, ready for a Cookie header. */
  cookie: string | undefined;
  csrf: string | undefined;
}

function csrfOf(html: string): string | undefined {
  return /<input type="hidden" name="csrf" value="([^"]*)">/.exec(html)?.[1];
}

function cookieOf(headers: Headers): string | undefined {
  const setCookie = headers.get('set-cookie');
  return setCookie ? setCookie.split(';')[0] : undefined;
}

/** What a browser shows: tags stripped, entities left as they are. */
function textOf(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');
}

function expectPageHeaders(page: Page): void {
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
function tamperSignature(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const i = 10;
  const swapped = signature[i] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${signature.slice(0, i)}${swapped}${signature.slice(i + 1)}`;
}

describe.each(backends)('registration pages on $name', (backend) => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let running: RunningBot;
  const clock = new TestClock();

  beforeAll(async () => {
    db = await backend.open();
    standIn = await new SlackStandIn().start();
    standIn.addUser({ id: 'UADMIN1', name: 'ada' });
    standIn.addUser({ id: 'UADMIN2', name: 'cleo' });
    for (const [id, name] of [
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
    ])
      standIn.addUser({ id: id as string, name: name as string });
    running = await startTestBot({ db, standIn, env: { INITIAL_ADMINS: 'UADMIN1' }, now: clock.now });
  });

  afterAll(async () => {
    await running?.stop();
    await standIn?.stop();
    await db?.close();
  });

  const accountId = () => running.account.id;

  /** Everything stored about the account, to show a request changed nothing. */
  async function snapshot() {
    const [members, invites, audit] = await Promise.all([
      db.knex('members').where({ account_id: accountId() }).orderBy('id'),
      db.knex('invites').where({ account_id: accountId() }).orderBy('id'),
      db.knex('audit_log').where({ account_id: accountId() }).orderBy('id'),
    ]);
    return { members, invites, audit };
  }

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
    const ack = await running.slack.command(by, `invite <@${slackUserId}|someone>`);
    expect(ack.status).toBe(200);
    const dm = await waitFor(() => standIn.dmsTo(slackUserId)[before], 10_000, `invitation DM to ${slackUserId}`);
    const blocks = dm.params.blocks as Array<{ elements?: Array<{ url?: string }> }>;
    const url = blocks[1]?.elements?.[0]?.url;
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
    return { ...created, path: new URL(created.url).pathname };
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

  describe('the confirm page (GET)', () => {
    it('shows the account, the inviter, the invitee, the expiry and a confirm button in a plain POST form', async () => {
      const path = await inviteFromSlack('UBOB001');
      const invite = await inviteRowFor('UBOB001');
      const page = await open(path);
      expect(page.status).toBe(200);
      expectPageHeaders(page);
      const text = textOf(page.html);
      expect(text).toContain(`Join ${TEAM_NAME}`);
      expect(text).toContain(`ada invited bob to join ${TEAM_NAME} on ChatBees as an AccountUser`);
      expect(text).toContain('This link is for bob only.');

      const expires = new Date(invite.expires_at);
      expect(expires.getTime() - clock.now().getTime()).toBe(SEVEN_DAYS * 1000);
      const day = `${expires.getUTCDate()} ${MONTHS[expires.getUTCMonth()]} ${expires.getUTCFullYear()}`;
      const time = `${String(expires.getUTCHours()).padStart(2, '0')}:${String(expires.getUTCMinutes()).padStart(2, '0')}`;
      expect(text).toMatch(new RegExp(`expires [A-Z][a-z]{2},? ${day},? ${time} UTC`));

      // A form a browser posts without JavaScript: back to this same link, the CSRF value hidden.
      const forms = page.html.match(/<form\b[^>]*>/g) ?? [];
      expect(forms).toEqual([`<form method="post" action="${path}">`]);
      expect(page.csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(page.html).toMatch(/<button type="submit">Confirm and join Acme Bees<\/button>/);
      expect(page.headers.get('content-security-policy')).toContain("form-action 'self'");

      // The one inline stylesheet is allowed by its hash, so the page renders styled under the CSP.
      const style = /<style>([\s\S]*?)<\/style>/.exec(page.html)?.[1] ?? '';
      const hash = `'sha256-${createHash('sha256').update(style).digest('base64')}'`;
      expect(page.headers.get('content-security-policy')).toContain(`style-src ${hash}`);

      // The CSRF cookie: not readable by scripts, never sent cross-site, host-only over HTTPS.
      const setCookie = page.headers.get('set-cookie') ?? '';
      expect(setCookie).toMatch(/^__Host-chatbees_csrf=[A-Za-z0-9_-]+;/);
      for (const attribute of ['Path=/', 'HttpOnly', 'SameSite=Strict', 'Secure']) {
        expect(setCookie.split('; ')).toContain(attribute);
      }
    });

    it('registers no one however often it is fetched: browsers, HEAD, Slack’s unfurler, mail scanners', async () => {
      const path = await inviteFromSlack('UCAROL1');
      // The invitation DM itself asks Slack not to unfurl the link.
      const dm = standIn.dmsTo('UCAROL1').at(-1);
      expect(String(dm?.params.unfurl_links)).toBe('false');

      const before = await snapshot();
      const visitors: Array<Record<string, string>> = [
        {},
        { 'User-Agent': SLACKBOT_UNFURLER },
        { 'User-Agent': SLACKBOT_UNFURLER },
        { 'User-Agent': MAIL_SCANNER },
        { 'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)' },
      ];
      for (const headers of visitors) {
        const page = await open(path, headers);
        expect(page.status).toBe(200);
        expectPageHeaders(page);
      }
      const head = await request(path, { method: 'HEAD', headers: { 'User-Agent': MAIL_SCANNER } });
      expect(head.status).toBe(200);
      expect(head.html).toBe('');
      expect(head.headers.get('cache-control')).toBe('no-store');

      expect(await snapshot()).toEqual(before);
      expect(await memberRow('UCAROL1')).toBeUndefined();
      expect((await inviteRowFor('UCAROL1')).uses).toBe(0);
      // Still good for the real person afterwards.
      expect((await register(path)).status).toBe(200);
      await waitFor(() => standIn.dmsTo('UCAROL1').length >= 2, 10_000, 'the welcome DM');
    });
  });

  describe('confirming (POST)', () => {
    it('registers the invitee as AccountUser, uses the invite up and tells the inviter and the new member', async () => {
      const path = await inviteFromSlack('UDAVE01');
      const invite = await inviteRowFor('UDAVE01');
      const inviterDms = standIn.dmsTo('UADMIN1').length;

      const page = await register(path);
      expect(page.status).toBe(200);
      expectPageHeaders(page);
      expect(textOf(page.html)).toContain(`You are now an AccountUser of ${TEAM_NAME} on ChatBees.`);

      const member = await memberRow('UDAVE01');
      expect(member).toMatchObject({
        role: 'AccountUser',
        status: 'active',
        display_name: 'dave',
        invited_by: 'UADMIN1',
        invite_id: invite.id,
      });
      const used = await inviteRowFor('UDAVE01');
      expect(used.id).toBe(invite.id);
      expect(used.uses).toBe(1);
      expect(used.last_used_at).not.toBeNull();
      const audit = await db
        .knex('audit_log')
        .where({ account_id: accountId(), action: 'member.registered', target_slack_user_id: 'UDAVE01' });
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: 'UDAVE01', source: 'registration_page', target_invite_id: invite.id });

      const toInviter = await waitFor(
        () =>
          standIn
            .dmsTo('UADMIN1')
            .slice(inviterDms)
            .find((c) => String(c.params.text).includes('<@UDAVE01>')),
        10_000,
        'the DM to the inviter',
      );
      expect(String(toInviter.params.text)).toMatch(/accepted your invite and is now an AccountUser of \*Acme Bees\*/);
      const welcome = await waitFor(
        () => standIn.dmsTo('UDAVE01').find((c) => String(c.params.text).startsWith('Welcome')),
        10_000,
        'the welcome DM',
      );
      expect(String(welcome.params.text)).toContain('Welcome to *Acme Bees* on ChatBees! You are an *AccountUser*');
    });

    it('answers 410 "already used" to a second POST (and GET) of the same link, and changes nothing', async () => {
      const path = await inviteFromSlack('UERIN01');
      const page = await open(path);
      const form = { cookie: page.cookie, csrf: page.csrf };
      expect((await confirm(path, form)).status).toBe(200);
      await waitFor(() => standIn.dmsTo('UERIN01').length >= 2, 10_000, 'the welcome DM');
      await waitFor(
        () => standIn.dmsTo('UADMIN1').some((c) => String(c.params.text).includes('<@UERIN01>')),
        10_000,
        'the DM to the inviter',
      );
      const dmCount = standIn.calls.length;

      const before = await snapshot();
      const again = await confirm(path, form);
      expect(again.status).toBe(410);
      expectPageHeaders(again);
      expect(textOf(again.html)).toContain('This registration link has already been used.');
      const reopened = await open(path);
      expect(reopened.status).toBe(410);
      expect(reopened.cookie).toBeUndefined();
      expect(reopened.html).not.toContain('<form');
      expect(textOf(reopened.html)).toContain('already been used');
      expect(await snapshot()).toEqual(before);
      expect(standIn.calls.length).toBe(dmCount);
    });

    it('registers once when the button is pressed twice at the same moment', async () => {
      const path = await inviteFromSlack('UFRANK1');
      const page = await open(path);
      const form = { cookie: page.cookie, csrf: page.csrf };
      const answers = await Promise.all([confirm(path, form), confirm(path, form), confirm(path, form)]);
      // One press registers; the others are told it is used (or, if they read after it, that nothing changed).
      const joined = answers.filter((a) => a.status === 200 && textOf(a.html).includes('You are now an AccountUser'));
      expect(joined).toHaveLength(1);
      for (const other of answers.filter((a) => !joined.includes(a))) {
        const text = textOf(other.html);
        expect(
          (other.status === 410 && text.includes('already been used')) ||
            (other.status === 200 && text.includes('You are already a member')),
          `${other.status}: ${text}`,
        ).toBe(true);
      }
      expect((await inviteRowFor('UFRANK1')).uses).toBe(1);
      const registered = await db
        .knex('audit_log')
        .where({ account_id: accountId(), action: 'member.registered', target_slack_user_id: 'UFRANK1' });
      expect(registered).toHaveLength(1);
      await waitFor(() => standIn.dmsTo('UFRANK1').length >= 2, 10_000, 'the welcome DM');
    });
  });

  describe('forged and malformed POSTs', () => {
    it('refuses with 403 a POST without the cookie, with a wrong CSRF value, or with one for another link', async () => {
      const path = await inviteFromSlack('UGINA01');
      const other = await inviteFromSlack('UHANK01');
      const page = await open(path);
      expect(page.cookie && page.csrf).toBeTruthy();
      // The same browser opens another registration link: its form value is bound to that link.
      const otherPage = await open(other, { Cookie: page.cookie as string });
      expect(otherPage.status).toBe(200);
      expect(otherPage.csrf).not.toBe(page.csrf);
      // A different browser's valid pair.
      const stranger = await open(path);

      const before = await snapshot();
      const attempts: Array<{ cookie?: string; csrf?: string }> = [
        { csrf: page.csrf },
        { cookie: page.cookie },
        { cookie: page.cookie, csrf: '' },
        { cookie: page.cookie, csrf: `${page.csrf}x` },
        { cookie: page.cookie, csrf: tamperSignature(`..${page.csrf}`).slice(2) },
        { cookie: page.cookie, csrf: stranger.csrf },
        { cookie: stranger.cookie, csrf: page.csrf },
        { cookie: page.cookie, csrf: otherPage.csrf },
      ];
      for (const form of attempts) {
        const refused = await confirm(path, form);
        expect(refused.status, JSON.stringify(form)).toBe(403);
        expectPageHeaders(refused);
        expect(textOf(refused.html)).toContain('Open your registration link again and confirm.');
      }
      // The other link's own pair does not work on this link either way round.
      expect((await confirm(other, { cookie: page.cookie, csrf: page.csrf })).status).toBe(403);
      expect(await snapshot()).toEqual(before);
      expect(await memberRow('UGINA01')).toBeUndefined();
      expect(await memberRow('UHANK01')).toBeUndefined();

      // The right pair still works: the refusals did not burn the link.
      expect((await confirm(path, { cookie: page.cookie, csrf: page.csrf })).status).toBe(200);
      expect((await confirm(other, { cookie: page.cookie, csrf: otherPage.csrf })).status).toBe(200);
    });

    it('refuses with 403 a cross-site POST carrying a valid cookie and CSRF value', async () => {
      const path = await inviteFromSlack('UIVY001');
      const page = await open(path);
      const form = { cookie: page.cookie, csrf: page.csrf };
      const before = await snapshot();
      for (const origin of [
        'https://evil.example',
        'http://bees.example.test',
        'https://bees.example.test.evil.example',
      ]) {
        const refused = await confirm(path, form, { Origin: origin });
        expect(refused.status, origin).toBe(403);
        expectPageHeaders(refused);
        expect(textOf(refused.html)).toContain('This form can only be sent from its own page.');
      }
      expect(await snapshot()).toEqual(before);
      expect((await confirm(path, form, { Origin: 'https://bees.example.test' })).status).toBe(200);
    });

    it('answers 415 to a body that is not a urlencoded form and 413 to one over 2 KB', async () => {
      const path = await inviteFromSlack('UJUDE01');
      const page = await open(path);
      const cookie = page.cookie as string;
      const csrf = page.csrf as string;
      const before = await snapshot();

      for (const [type, body] of [
        ['text/plain', `csrf=${csrf}`],
        ['application/json', JSON.stringify({ csrf })],
        [
          'multipart/form-data; boundary=x',
          `--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n${csrf}\r\n--x--`,
        ],
      ] as const) {
        const refused = await request(path, {
          method: 'POST',
          headers: { 'Content-Type': type, Cookie: cookie },
          body,
        });
        expect(refused.status, type).toBe(415);
        expectPageHeaders(refused);
      }
      const noType = await request(path, {
        method: 'POST',
        headers: { Cookie: cookie },
        body: new Blob([`csrf=${csrf}`]),
      });
      expect(noType.status).toBe(415);

      const big = new URLSearchParams({ csrf, padding: 'x'.repeat(2_100) }).toString();
      const declared = await request(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
        body: big,
      });
      expect(declared.status).toBe(413);
      expectPageHeaders(declared);
      // Larger ones, many at once: each client reads its 413 page, none sees a reset.
      const larger = new URLSearchParams({ csrf, padding: 'x'.repeat(15_000) }).toString();
      const many = await Promise.all(
        Array.from({ length: 10 }, () =>
          request(path, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
            body: larger,
          }),
        ),
      );
      expect(many.map((r) => r.status)).toEqual(Array(10).fill(413));

      // Sent in chunks without a Content-Length: the limit still holds.
      const chunks = [big.slice(0, 1_000), big.slice(1_000, 2_000), big.slice(2_000)];
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(next));
        },
      });
      const chunked = await request(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(413);

      expect(await snapshot()).toEqual(before);
      expect(await memberRow('UJUDE01')).toBeUndefined();
      // A form just under the limit is read.
      const padded = new URLSearchParams({ csrf, padding: 'x'.repeat(1_800) }).toString();
      expect(padded.length).toBeLessThanOrEqual(2_048);
      const accepted = await request(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8', Cookie: cookie },
        body: padded,
      });
      expect(accepted.status).toBe(200);
    });

    it('answers 405 to other methods', async () => {
      const { path } = await inviteDirectly('UKAI001');
      const before = await snapshot();
      for (const method of ['PUT', 'DELETE', 'PATCH']) {
        const page = await request(path, { method });
        expect(page.status, method).toBe(405);
        expect(page.headers.get('allow')).toBe('GET, POST');
        expectPageHeaders(page);
      }
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('links that no longer work', () => {
    it('an expired link: GET and POST answer 410 "expired, ask for a new one"', async () => {
      const { path } = await inviteDirectly('ULEO001', 'leo');
      const page = await open(path);
      expect(page.status).toBe(200);
      clock.advance(SEVEN_DAYS + 1);
      const before = await snapshot();

      const reopened = await open(path);
      expect(reopened.status).toBe(410);
      expectPageHeaders(reopened);
      expect(reopened.cookie).toBeUndefined();
      const text = textOf(reopened.html);
      expect(text).toContain('Link expired');
      expect(text).toContain('This registration link has expired. Ask the person who invited you for a new one.');

      const posted = await confirm(path, { cookie: page.cookie, csrf: page.csrf });
      expect(posted.status).toBe(410);
      expectPageHeaders(posted);
      expect(textOf(posted.html)).toContain('has expired');
      expect(await snapshot()).toEqual(before);
      expect(await memberRow('ULEO001')).toBeUndefined();
    });

    it('an invite expires at its expiry, not a second later', async () => {
      const created = await inviteDirectly('ULEO001', 'leo');
      clock.advance(SEVEN_DAYS - 1);
      const page = await open(created.path);
      expect(page.status).toBe(200);
      clock.advance(1);
      expect((await open(created.path)).status).toBe(410);
      expect((await confirm(created.path, { cookie: page.cookie, csrf: page.csrf })).status).toBe(410);
      expect(await memberRow('ULEO001')).toBeUndefined();
    });

    it('a revoked link (by /chatbees-users revoke or the service): 410 "withdrawn by an AccountAdmin"', async () => {
      const path = await inviteFromSlack('UMAX001');
      const invite = await inviteRowFor('UMAX001');
      const page = await open(path);
      expect(page.status).toBe(200);

      const ack = await running.slack.command('UADMIN1', `revoke ${invite.id}`);
      expect(ack.status).toBe(200);
      await waitFor(async () => (await inviteRowFor('UMAX001')).revoked_at !== null, 10_000, 'the revocation');
      const before = await snapshot();

      const reopened = await open(path);
      expect(reopened.status).toBe(410);
      expectPageHeaders(reopened);
      expect(textOf(reopened.html)).toContain('Link withdrawn');
      expect(textOf(reopened.html)).toContain('This registration link was withdrawn by an AccountAdmin.');
      const posted = await confirm(path, { cookie: page.cookie, csrf: page.csrf });
      expect(posted.status).toBe(410);
      expect(textOf(posted.html)).toContain('withdrawn by an AccountAdmin');
      expect(await snapshot()).toEqual(before);
      expect(await memberRow('UMAX001')).toBeUndefined();

      const direct = await inviteDirectly('UMAX001', 'max');
      const directPage = await open(direct.path);
      expect(directPage.status).toBe(200);
      const revoked = await revokeInvite(
        running.bot.services,
        { accountId: accountId(), slackUserId: 'UADMIN1', source: 'slash_command' },
        { inviteId: direct.invite.id },
      );
      expect(revoked.ok).toBe(true);
      expect((await open(direct.path)).status).toBe(410);
      const directPost = await confirm(direct.path, { cookie: directPage.cookie, csrf: directPage.csrf });
      expect(directPost.status).toBe(410);
      expect(textOf(directPost.html)).toContain('withdrawn');
      expect(await memberRow('UMAX001')).toBeUndefined();
    });

    it('a replaced link (the same person invited again): 410 "a newer link was sent"; the newer one works', async () => {
      const first = await inviteFromSlack('UNED001');
      const firstPage = await open(first);
      expect(firstPage.status).toBe(200);
      const second = await inviteFromSlack('UNED001');
      expect(second).not.toBe(first);
      const before = await snapshot();

      const reopened = await open(first);
      expect(reopened.status).toBe(410);
      expectPageHeaders(reopened);
      expect(textOf(reopened.html)).toContain('Link replaced');
      expect(textOf(reopened.html)).toContain('A newer registration link was sent to you in Slack.');
      const posted = await confirm(first, { cookie: firstPage.cookie, csrf: firstPage.csrf });
      expect(posted.status).toBe(410);
      expect(textOf(posted.html)).toContain('A newer registration link was sent');
      expect(await snapshot()).toEqual(before);

      expect((await register(second)).status).toBe(200);
      expect(await memberRow('UNED001')).toMatchObject({ status: 'active', role: 'AccountUser' });
    });

    it('a tampered, foreign-key, garbage or overlong token: 404 "This link is not valid"', async () => {
      const created = await inviteDirectly('UKAI001', 'kai');
      const page = await open(created.path);
      expect(page.status).toBe(200);
      const [header, , signature] = created.token.split('.') as [string, string, string];
      const foreign = await new RegistrationLinks({
        publicUrl: PUBLIC_URL,
        secret: 'another-registration-link-secret-fedcba9876543210',
        now: clock.now,
      }).sign(created.invite);
      // The genuine signature over a payload naming another invite.
      const other = await inviteDirectly('UOTTO01', 'otto');
      const claims = JSON.parse(Buffer.from(created.token.split('.')[1] as string, 'base64url').toString('utf8'));
      const otherPayload = Buffer.from(JSON.stringify({ ...claims, jti: other.invite.id })).toString('base64url');
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${
        created.token.split('.')[1]
      }.`;
      const tokens = {
        tampered: tamperSignature(created.token),
        foreignKey: foreign,
        payloadChanged: `${header}.${otherPayload}.${signature}`,
        unsigned,
        garbage: 'not-a-registration-link',
        overlong: `${created.token}${'A'.repeat(2_100)}`,
        overlongGarbage: 'x'.repeat(5_000),
      };
      const before = await snapshot();
      // A CSRF pair valid for each token, as if the page had been served: only the link decides.
      const csrf = new Csrf({ secret: LINK_SECRET, secure: true });
      const nonce = csrf.nonceFrom(`${page.cookie}`) as string;
      expect(nonce).toBeTruthy();
      for (const [what, token] of Object.entries(tokens)) {
        const path = `/register/${token}`;
        const shown = await open(path);
        expect(shown.status, what).toBe(404);
        expectPageHeaders(shown);
        expect(shown.cookie, what).toBeUndefined();
        expect(textOf(shown.html), what).toContain('This link is not valid.');
        const posted = await confirm(path, { cookie: page.cookie, csrf: csrf.issue(token, nonce).formValue });
        expect(posted.status, what).toBe(404);
        expect(textOf(posted.html), what).toContain('This link is not valid.');
      }
      // A malformed escape in the path.
      const malformed = await open('/register/%E0%A4%A');
      expect(malformed.status).toBe(404);
      expectPageHeaders(malformed);
      expect(await snapshot()).toEqual(before);
      expect(await memberRow('UKAI001')).toBeUndefined();
      // The genuine link is untouched by all that.
      expect((await confirm(created.path, { cookie: page.cookie, csrf: page.csrf })).status).toBe(200);
    });
  });

  describe('text from people', () => {
    it('escapes a Slack name with HTML in it on the page', async () => {
      const path = await inviteFromSlack('UXSS001');
      expect((await inviteRowFor('UXSS001')).for_display_name).toBe('<script>alert(1)</script>');
      const original = (await memberRow('UADMIN1')).display_name;
      await db
        .knex('members')
        .where({ account_id: accountId(), slack_user_id: 'UADMIN1' })
        .update({ display_name: `Ada "><img src=x onerror=alert(1)> & co` });
      try {
        const page = await open(path);
        expect(page.status).toBe(200);
        expectPageHeaders(page);
        expect(page.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
        expect(page.html).toContain('Ada &quot;&gt;&lt;img src=x onerror=alert(1)&gt; &amp; co invited');
        expect(page.html).not.toContain('<img');
        expect(page.html).not.toContain('<script>');
        expect(textOf(page.html)).toContain('This link is for &lt;script&gt;alert(1)&lt;/script&gt; only.');
      } finally {
        await db
          .knex('members')
          .where({ account_id: accountId(), slack_user_id: 'UADMIN1' })
          .update({ display_name: original });
      }
    });
  });

  describe('a removed inviter', () => {
    it('makes their pending links stop working: 403, the admin who made it can no longer invite', async () => {
      // Someone else becomes AccountAdmin, then removes the admin who sent the invite.
      const path = await inviteFromSlack('UADMIN2');
      expect((await register(path)).status).toBe(200);
      await running.slack.command('UADMIN1', 'role <@UADMIN2|cleo> admin');
      await waitFor(async () => (await memberRow('UADMIN2'))?.role === 'AccountAdmin', 10_000, 'the promotion');

      const pending = await inviteFromSlack('UBOB001');
      const page = await open(pending);
      expect(page.status).toBe(200);
      expect(textOf(page.html)).toContain('ada invited bob');

      await running.slack.command('UADMIN2', 'remove <@UADMIN1|ada>');
      await waitFor(async () => (await memberRow('UADMIN1'))?.status === 'removed', 10_000, 'the removal');
      const before = await snapshot();

      const reopened = await open(pending);
      expect(reopened.status).toBe(403);
      expectPageHeaders(reopened);
      expect(textOf(reopened.html)).toContain('The admin who made this link can no longer invite people');
      const posted = await confirm(pending, { cookie: page.cookie, csrf: page.csrf });
      expect(posted.status).toBe(403);
      expect(textOf(posted.html)).toContain('can no longer invite people');
      expect(await snapshot()).toEqual(before);
      expect(await memberRow('UBOB001')).toBeUndefined();
    });
  });
});
