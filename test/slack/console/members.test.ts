// The admin console end to end, members: changing roles, removing people, and keeping the last
// AccountAdmin. The real bot over HTTP, its database on each backend, the Slack stand-in.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  allText,
  button,
  consoleUnderTest,
  memberRow,
  memberRows,
  noticeOf,
  textOf,
} from '../../support/console-views.js';
import { backends } from '../../support/databases.js';
import { insertMembers } from '../../support/fixtures.js';
import { waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('admin console on $name', (backend) => {
  const t = consoleUnderTest(backend);
  const { openConsole, pressAndUpdate, buttonPayload, memberOf, auditRows } = t;

  // --- Role changes and removal ---

  describe('changing roles and removing members', () => {
    beforeEach(async () => {
      await insertMembers(t.db.knex, t.running.account, [
        { slackUserId: 'UBOB', displayName: 'Bob' },
        { slackUserId: 'UCAROL', displayName: 'Carol' },
      ]);
    });

    it('"Make AccountAdmin" promotes the member, DMs them and updates the console with a notice', async () => {
      const shown = await openConsole();
      const promote = button(shown.view, 'member_actions:UBOB', 'member_set_role');
      expect(textOf(promote.text)).toBe('Make AccountAdmin');
      const after = await pressAndUpdate('UADMIN1', shown, 'member_actions:UBOB', 'member_set_role');

      expect((await memberOf('UBOB')).role).toBe('AccountAdmin');
      const dms = t.standIn.dmsTo('UBOB');
      expect(dms).toHaveLength(1);
      expect(String(dms[0]?.params.text)).toContain('<@UADMIN1> made you an *AccountAdmin*');
      expect(after.view.callback_id).toBe('admin_console');
      expect(noticeOf(after.view)).toContain('<@UBOB> is now an *AccountAdmin*');
      expect(noticeOf(after.view)).toContain('I told them by DM');
      expect(memberRow(after.view, 'UBOB')).toContain('*AccountAdmin*');
      expect(textOf(button(after.view, 'member_actions:UBOB', 'member_set_role').text)).toBe('Make AccountUser');
      expect(await auditRows('member.role_changed')).toEqual([
        expect.objectContaining({ actor: 'UADMIN1', target_slack_user_id: 'UBOB', source: 'console' }),
      ]);
    });

    it('"Remove" soft-deletes the member, DMs them and updates the console', async () => {
      const shown = await openConsole();
      const after = await pressAndUpdate('UADMIN1', shown, 'member_actions:UCAROL', 'member_remove');

      const carol = await memberOf('UCAROL');
      expect(carol).toMatchObject({ status: 'removed', removed_by: 'UADMIN1' });
      expect(carol.removed_at).not.toBeNull();
      const dms = t.standIn.dmsTo('UCAROL');
      expect(dms).toHaveLength(1);
      expect(String(dms[0]?.params.text)).toContain('removed you');
      expect(noticeOf(after.view)).toContain('Removed <@UCAROL>');
      expect(memberRows(after.view)).toEqual(['UADMIN1', 'UBOB']);
      expect(allText(after.view)).toContain('2 members');
      expect(t.standIn.dmsTo('UBOB')).toHaveLength(0);
    });

    it('an admin who demotes themselves sees the outcome and no console', async () => {
      await t.db.knex('members').where({ slack_user_id: 'UBOB' }).update({ role: 'AccountAdmin' });
      const shown = await openConsole();
      const after = await pressAndUpdate('UADMIN1', shown, 'member_actions:UADMIN1', 'member_set_role');
      expect((await memberOf('UADMIN1')).role).toBe('AccountUser');
      expect(after.view.callback_id).not.toBe('admin_console');
      expect(memberRows(after.view)).toEqual([]);
      expect(allText(after.view)).toContain('<@UADMIN1> is now an *AccountUser*');
      expect(allText(after.view)).toContain('You can no longer use the console');
    });

    it('tells the admin when the DM could not be delivered', async () => {
      const shown = await openConsole();
      t.standIn.fail('chat.postMessage', { error: 'channel_not_found' });
      const after = await pressAndUpdate('UADMIN1', shown, 'member_actions:UBOB', 'member_set_role');
      expect((await memberOf('UBOB')).role).toBe('AccountAdmin');
      expect(noticeOf(after.view)).toContain('could not tell them by DM (channel_not_found)');
    });

    it.each([
      ['member_set_role', 'UBOB', 'member.role_changed'],
      ['member_remove', 'UBOB', 'member.removed'],
    ])('acts once on %s when Slack delivers the same press twice', async (actionId, user, auditAction) => {
      const shown = await openConsole();
      const claims: Array<{ key: string; claimed: boolean }> = [];
      const requests = t.running.bot.services.requests;
      const claim = requests.claim.bind(requests);
      vi.spyOn(requests, 'claim').mockImplementation(async (key: string) => {
        const claimed = await claim(key);
        claims.push({ key, claimed });
        return claimed;
      });
      const payload = buttonPayload('UADMIN1', shown, `member_actions:${user}`, actionId);

      const first = await t.running.slack.interaction(payload);
      expect(first.status).toBe(200);
      await waitFor(() => t.standIn.callsTo('views.update').length === 1, 5_000, 'first update');
      expect(t.standIn.dmsTo(user)).toHaveLength(1);

      const again = await t.running.slack.interaction(payload);
      expect(again.status).toBe(200);
      // The redelivery has been handled once its claim has been refused.
      await waitFor(() => claims.length === 2, 5_000, 'second claim');
      expect(claims[0]?.key).toBe(claims[1]?.key);
      expect(claims.map((c) => c.claimed)).toEqual([true, false]);
      expect(t.standIn.dmsTo(user)).toHaveLength(1);
      expect(await auditRows(auditAction)).toHaveLength(1);
    });
  });

  // --- The last AccountAdmin ---

  describe('the last AccountAdmin', () => {
    it.each([
      ['member_set_role', 'Make AccountUser'],
      ['member_remove', 'Remove'],
    ])('refuses %s on the only AccountAdmin, saying why, and changes nothing', async (actionId, label) => {
      await insertMembers(t.db.knex, t.running.account, [{ slackUserId: 'UBOB', displayName: 'Bob' }]);
      const shown = await openConsole();
      expect(textOf(button(shown.view, 'member_actions:UADMIN1', actionId).text)).toBe(label);
      const after = await pressAndUpdate('UADMIN1', shown, 'member_actions:UADMIN1', actionId);

      expect(after.view.callback_id).toBe('admin_console');
      expect(noticeOf(after.view)).toContain('at least one AccountAdmin');
      expect(memberRow(after.view, 'UADMIN1')).toContain('*AccountAdmin*');
      expect(await memberOf('UADMIN1')).toMatchObject({ role: 'AccountAdmin', status: 'active' });
      expect(t.standIn.callsTo('chat.postMessage')).toHaveLength(0);
      expect(await auditRows('member.role_changed')).toHaveLength(0);
      expect(await auditRows('member.removed')).toHaveLength(0);
    });
  });
});
