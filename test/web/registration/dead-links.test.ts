// Links that no longer work: expired, revoked, replaced by a newer one, or never valid at all.
// The bot, stand-in and helpers: test/support/registration-bot.ts; each test starts from a reset account.
import { describe, expect, it } from 'vitest';
import { revokeInvite } from '../../../src/services/operations/revoke-invite.js';
import { RegistrationLinks } from '../../../src/services/registration-links.js';
import { Csrf } from '../../../src/web/csrf.js';
import { backends } from '../../support/databases.js';
import { LINK_SECRET, PUBLIC_URL, SEVEN_DAYS } from '../../support/fixtures.js';
import { expectPageHeaders, registrationBot, tamperSignature, textOf } from '../../support/registration-bot.js';
import { waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('registration pages on $name', (backend) => {
  const t = registrationBot(backend);
  const { accountId, snapshot, memberRow, inviteRowFor, inviteFromSlack, inviteDirectly, open, confirm, register } = t;

  describe('links that no longer work', () => {
    it('an expired link: GET and POST answer 410 "expired, ask for a new one"', async () => {
      const { path } = await inviteDirectly('ULEO001', 'leo');
      const page = await open(path);
      expect(page.status).toBe(200);
      t.clock.advance(SEVEN_DAYS + 1);
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
      t.clock.advance(SEVEN_DAYS - 1);
      const page = await open(created.path);
      expect(page.status).toBe(200);
      t.clock.advance(1);
      expect((await open(created.path)).status).toBe(410);
      expect((await confirm(created.path, { cookie: page.cookie, csrf: page.csrf })).status).toBe(410);
      expect(await memberRow('ULEO001')).toBeUndefined();
    });

    it('a revoked link (by /chatbees-users revoke or the service): 410 "withdrawn by an AccountAdmin"', async () => {
      const path = await inviteFromSlack('UMAX001');
      const invite = await inviteRowFor('UMAX001');
      const page = await open(path);
      expect(page.status).toBe(200);

      const ack = await t.running.slack.command('UADMIN1', `revoke ${invite.id}`);
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
        t.running.bot.services,
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
        now: t.clock.now,
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
});
