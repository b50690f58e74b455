// `/chatbees-users …` end to end: role and remove.
import { describe, expect, it } from 'vitest';
import { commandBot } from '../../support/command-bot.js';
import { backends } from '../../support/databases.js';

describe.each(backends)('/chatbees-users on $name', (backend) => {
  const { t, member, run, activeMember, auditRows } = commandBot(backend);

  describe('role and remove', () => {
    it('changes a role and tells the member by DM; admin and user work in any case', async () => {
      const p = await member();
      const promoted = await (await run('UADMIN1', `role <@${p}|x> ADMIN`)).followUp();
      expect(promoted).toBe(`<@${p}> is now an *AccountAdmin*. I told them by DM.`);
      expect((await activeMember(p)).role).toBe('AccountAdmin');
      expect(String(t.standIn.dmsTo(p)[0]?.params.text)).toMatch(
        /<@UADMIN1> made you an \*AccountAdmin\* of \*Acme Bees\*/,
      );
      const demoted = await (await run('UADMIN1', `role <@${p}> user`)).followUp();
      expect(demoted).toMatch(/is now an \*AccountUser\*/);
      const same = await (await run('UADMIN1', `role <@${p}> AccountUser`)).followUp();
      expect(same).toMatch(/already an AccountUser; nothing changed/);
      const rows = (await auditRows()).filter(
        (r) => r.action === 'member.role_changed' && r.target_slack_user_id === p,
      );
      expect(rows.map((r) => [r.actor, r.before.role, r.after.role])).toEqual([
        ['UADMIN1', 'AccountUser', 'AccountAdmin'],
        ['UADMIN1', 'AccountAdmin', 'AccountUser'],
      ]);
    });

    it('keeps at least one AccountAdmin', async () => {
      // Make UADMIN1 the only admin for this test.
      await t.db
        .knex('members')
        .where({ account_id: t.running.account.id, role: 'AccountAdmin' })
        .whereNot({ slack_user_id: 'UADMIN1' })
        .update({ role: 'AccountUser' });
      const demote = await (await run('UADMIN1', 'role <@UADMIN1> user')).followUp();
      expect(demote).toMatch(/at least one AccountAdmin/);
      const remove = await (await run('UADMIN1', 'remove <@UADMIN1>')).followUp();
      expect(remove).toMatch(/at least one AccountAdmin/);
      expect(await activeMember('UADMIN1')).toMatchObject({ role: 'AccountAdmin', status: 'active' });
    });

    it('removes a member (soft delete), tells them, and refuses them from then on', async () => {
      const p = await member();
      const answer = await (await run('UADMIN1', `remove <@${p}>`)).followUp();
      expect(answer).toMatch(
        new RegExp(`Removed <@${p}> from \\*Acme Bees\\*; their access has ended\\. I told them by DM\\.`),
      );
      expect(await activeMember(p)).toMatchObject({ status: 'removed', removed_by: 'UADMIN1' });
      expect(String(t.standIn.dmsTo(p)[0]?.params.text)).toMatch(/removed you from \*Acme Bees\*/);
      expect((await run(p, 'whoami')).ackText).toMatch(/not registered/);
      expect((await run(p, 'list')).ackText).toMatch(/not registered/);
    });

    it('names an unknown person clearly', async () => {
      expect(await (await run('UADMIN1', 'role <@UNOBODY42> admin')).followUp()).toBe(
        'That person is not an active member of this account.',
      );
      expect(await (await run('UADMIN1', 'remove <@UNOBODY42>')).followUp()).toBe(
        'That person is not an active member of this account.',
      );
    });

    it('tells the admin when the member could not be told', async () => {
      const p = await member();
      t.standIn.fail('conversations.open', { error: 'user_disabled' });
      const answer = await (await run('UADMIN1', `role <@${p}> admin`)).followUp();
      expect(answer).toMatch(
        /is now an \*AccountAdmin\*\. I could not tell them by DM \(user_disabled\); please let them know\./,
      );
    });
  });
});
