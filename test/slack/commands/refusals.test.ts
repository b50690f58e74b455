// `/chatbees-users …` end to end: what is refused to whom, and bad input.
import { describe, expect, it } from 'vitest';
import { changeRole } from '../../../src/services/operations/change-role.js';
import { commandBot } from '../../support/command-bot.js';
import { backends } from '../../support/databases.js';
import { waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('/chatbees-users on $name', (backend) => {
  const { t, person, member, run, activeMember, auditRows } = commandBot(backend);

  describe('refusals', () => {
    const adminOnly = [
      'list',
      'invites',
      'invite <@UADMIN1>',
      'invite',
      'revoke abcdefghij',
      'role <@UADMIN1> user',
      'remove <@UADMIN1>',
      'audit',
      'role',
    ];
    // A refusal repeated within a minute is recorded once: one row per distinct operation (`invite`
    // alone makes a link for anyone, another operation than inviting people; `role` twice is one).
    const distinctOperations = 8;

    it('refuses every admin command to an AccountUser, naming the role, and audits it', async () => {
      const user = await member();
      for (const text of adminOnly) {
        const answer = await run(user, text);
        expect(answer.ackText, text).toMatch(/needs the AccountAdmin role; you are an AccountUser/);
      }
      // The refusal is answered first and recorded right after.
      const refused = await waitFor(async () => {
        const rows = (await auditRows()).filter((r) => r.action === 'access.refused' && r.actor === user);
        return rows.length === distinctOperations && rows;
      });
      expect(refused[0].after).toMatchObject({ reason: 'not_admin' });
      expect(new Set(refused.map((r) => r.after.operation))).toEqual(
        new Set([
          'members.list',
          'invites.list',
          'invites.send',
          'invites.share_link',
          'invites.revoke',
          'members.change_role',
          'members.remove',
          'audit.read',
        ]),
      );
      expect((await activeMember('UADMIN1')).role).toBe('AccountAdmin');
    });

    it('tells a non-member they are not registered and to ask for an invite', async () => {
      const stranger = person();
      for (const text of adminOnly) {
        const answer = await run(stranger, text);
        expect(answer.ackText, text).toMatch(
          /You are not registered in this ChatBees account\. Ask an AccountAdmin to invite you/,
        );
      }
      expect(t.standIn.dmsTo('UADMIN1').filter((c) => String(c.params.text).includes(stranger))).toHaveLength(0);
      const refused = await waitFor(async () => {
        const rows = (await auditRows()).filter((r) => r.action === 'access.refused' && r.actor === stranger);
        return rows.length === distinctOperations && rows;
      });
      expect(refused.every((r) => r.after.reason === 'not_member')).toBe(true);
    });

    it('re-checks on every request: a demoted admin is refused at once', async () => {
      const admin = await member('AccountAdmin');
      expect((await run(admin, 'list')).ackText).toMatch(/Members of/);
      await changeRole(
        t.running.bot.services,
        { accountId: t.running.account.id, slackUserId: 'UADMIN1', source: 'slash_command' },
        { user: admin, role: 'AccountUser' },
      );
      expect((await run(admin, 'list')).ackText).toMatch(/needs the AccountAdmin role/);
    });

    it('answers bad input with one clear line, never a stack trace', async () => {
      const cases: Array<[string, RegExp]> = [
        ['role <@UADMIN1>', /Name one person and a role/],
        ['role <@UADMIN1> boss', /"boss" is not a role/],
        ['remove bob', /"bob" is not a Slack user I can recognise/],
        ['x'.repeat(4000), /too long/],
        ['list\u0007', /control characters/],
        ['audit many', /Give a number from 1 to 50/],
      ];
      for (const [text, expected] of cases) {
        const answer = await run('UADMIN1', text);
        expect(answer.ack.status).toBe(200);
        expect(answer.ackText, text).toMatch(expected);
        expect(answer.ackText).not.toMatch(/\n\s+at |Error:/);
      }
    });

    it('escapes what people typed, so nobody gets pinged', async () => {
      const answer = await run('UADMIN1', '<!channel> hello');
      expect(answer.ackText).toContain('&lt;!channel&gt;');
      expect(answer.ackText).not.toContain('<!channel>');
      const role = await run('UADMIN1', 'role <@UADMIN1> <!here>');
      expect(role.ackText).not.toContain('<!here>');
    });
  });
});
