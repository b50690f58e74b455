// Who the people on a link are: a Slack name with HTML in it, an inviter removed since.
// The bot, stand-in and helpers: test/support/registration-bot.ts; each test starts from a reset account.
import { describe, expect, it } from 'vitest';
import { backends } from '../../support/databases.js';
import { expectPageHeaders, registrationBot, textOf } from '../../support/registration-bot.js';
import { waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('registration pages on $name', (backend) => {
  const t = registrationBot(backend);
  const { accountId, snapshot, memberRow, inviteRowFor, inviteFromSlack, open, confirm, register } = t;

  describe('text from people', () => {
    it('escapes a Slack name with HTML in it on the page', async () => {
      const path = await inviteFromSlack('UXSS001');
      expect((await inviteRowFor('UXSS001')).for_display_name).toBe('<script>alert(1)</script>');
      const original = (await memberRow('UADMIN1')).display_name;
      await t.db
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
        await t.db
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
      await t.running.slack.command('UADMIN1', 'role <@UADMIN2|cleo> admin');
      await waitFor(async () => (await memberRow('UADMIN2'))?.role === 'AccountAdmin', 10_000, 'the promotion');

      const pending = await inviteFromSlack('UBOB001');
      const page = await open(pending);
      expect(page.status).toBe(200);
      expect(textOf(page.html)).toContain('ada invited bob');

      await t.running.slack.command('UADMIN2', 'remove <@UADMIN1|ada>');
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
