// The confirm page a personal registration link shows (GET): what it says and how it is served,
// and that fetching it, however often and by whom, registers no one.
// The bot, stand-in and helpers: test/support/registration-bot.ts; each test starts from a reset account.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backends } from '../../support/databases.js';
import { SEVEN_DAYS } from '../../support/fixtures.js';
import { expectPageHeaders, registrationBot, textOf } from '../../support/registration-bot.js';
import { TEAM_NAME, waitFor } from '../../support/slack-stand-in.js';

const SLACKBOT_UNFURLER = 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)';
const MAIL_SCANNER = 'Mozilla/5.0 (compatible; SafeLinks-Scanner/2.1; +https://example.com/scanner)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

describe.each(backends)('registration pages on $name', (backend) => {
  const t = registrationBot(backend);
  const { snapshot, memberRow, inviteRowFor, inviteFromSlack, request, open, register } = t;

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
      expect(expires.getTime() - t.clock.now().getTime()).toBe(SEVEN_DAYS * 1000);
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
      const dm = t.standIn.dmsTo('UCAROL1').at(-1);
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
      await waitFor(() => t.standIn.dmsTo('UCAROL1').length >= 2, 10_000, 'the welcome DM');
    });
  });
});
