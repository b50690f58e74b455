// Confirming a personal registration link (POST): the invitee becomes an AccountUser once, and
// only once, however often the form is sent.
// The bot, stand-in and helpers: test/support/registration-bot.ts; each test starts from a reset account.
import { describe, expect, it } from 'vitest';
import { backends } from '../../support/databases.js';
import { expectPageHeaders, registrationBot, textOf } from '../../support/registration-bot.js';
import { TEAM_NAME, waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('registration pages on $name', (backend) => {
  const t = registrationBot(backend);
  const { accountId, snapshot, memberRow, inviteRowFor, inviteFromSlack, open, confirm, register } = t;

  describe('confirming (POST)', () => {
    it('registers the invitee as AccountUser, uses the invite up and tells the inviter and the new member', async () => {
      const path = await inviteFromSlack('UDAVE01');
      const invite = await inviteRowFor('UDAVE01');
      const inviterDms = t.standIn.dmsTo('UADMIN1').length;

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
      const audit = await t.db
        .knex('audit_log')
        .where({ account_id: accountId(), action: 'member.registered', target_slack_user_id: 'UDAVE01' });
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: 'UDAVE01', source: 'registration_page', target_invite_id: invite.id });

      const toInviter = await waitFor(
        () =>
          t.standIn
            .dmsTo('UADMIN1')
            .slice(inviterDms)
            .find((c) => String(c.params.text).includes('<@UDAVE01>')),
        10_000,
        'the DM to the inviter',
      );
      expect(String(toInviter.params.text)).toMatch(/accepted your invite and is now an AccountUser of \*Acme Bees\*/);
      const welcome = await waitFor(
        () => t.standIn.dmsTo('UDAVE01').find((c) => String(c.params.text).startsWith('Welcome')),
        10_000,
        'the welcome DM',
      );
      expect(String(welcome.params.text)).toContain('Welcome to *Acme Bees* on ChatBees! You are an *AccountUser*');
    });

    it('answers 410 "already used" to a second POST (and GET) of the same link, and changes nothing', async () => {
      const path = await inviteFromSlack('UERIN01');
      const page = await open(path);
      const form = { cookie: page.cookie, csrf: page.csrf };
      const callsBefore = t.standIn.calls.length;
      expect((await confirm(path, form)).status).toBe(200);
      await waitFor(() => t.standIn.dmsTo('UERIN01').length >= 2, 10_000, 'the welcome DM');
      await waitFor(
        () => t.standIn.dmsTo('UADMIN1').some((c) => String(c.params.text).includes('<@UERIN01>')),
        10_000,
        'the DM to the inviter',
      );
      // The invitation's DM is brought up to date by a job, whenever the queue gets to it.
      await waitFor(
        () => t.standIn.calls.slice(callsBefore).some((c) => c.method === 'chat.update'),
        10_000,
        'the invitation DM brought up to date',
      );
      const dmCount = t.standIn.calls.length;

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
      expect(t.standIn.calls.length).toBe(dmCount);
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
      const registered = await t.db
        .knex('audit_log')
        .where({ account_id: accountId(), action: 'member.registered', target_slack_user_id: 'UFRANK1' });
      expect(registered).toHaveLength(1);
      await waitFor(() => t.standIn.dmsTo('UFRANK1').length >= 2, 10_000, 'the welcome DM');
    });
  });
});
