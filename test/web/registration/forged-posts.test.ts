// POSTs to a registration link that are not the invitee pressing the button on its page: no or
// wrong CSRF values, another site, bodies that are not a small urlencoded form, other methods.
// The bot, stand-in and helpers: test/support/registration-bot.ts; each test starts from a reset account.
import { describe, expect, it } from 'vitest';
import { backends } from '../../support/databases.js';
import { expectPageHeaders, registrationBot, tamperSignature, textOf } from '../../support/registration-bot.js';

describe.each(backends)('registration pages on $name', (backend) => {
  const t = registrationBot(backend);
  const { snapshot, memberRow, inviteFromSlack, inviteDirectly, request, open, confirm } = t;

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
});
