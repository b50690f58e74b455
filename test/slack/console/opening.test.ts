// The admin console end to end, opening and paging: the real bot over HTTP, its database on each
// backend, and the Slack stand-in recording every view it is sent (each checked against Slack's limits).
import { describe, expect, it } from 'vitest';
import { CONSOLE_INVITES_SHOWN } from '../../../src/slack/blocks/console.js';
import {
  allText,
  button,
  consoleUnderTest,
  expectViewsWithinSlackLimits,
  findButton,
  ids,
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
  const { openConsole, pressAndUpdate } = t;

  describe('opening and paging', () => {
    it('acks the command empty, then opens the console with the trigger_id, members and their roles', async () => {
      await insertMembers(t.db.knex, t.running.account, [{ slackUserId: 'UBOB', displayName: 'Bob' }]);
      const shown = await openConsole();
      expect(t.standIn.callsTo('views.open')).toHaveLength(1);
      expect(shown.view).toMatchObject({ type: 'modal', callback_id: 'admin_console' });
      expect(memberRows(shown.view)).toEqual(['UADMIN1', 'UBOB']);
      expect(memberRow(shown.view, 'UADMIN1')).toContain('<@UADMIN1>');
      expect(memberRow(shown.view, 'UADMIN1')).toContain('*AccountAdmin*');
      expect(memberRow(shown.view, 'UBOB')).toContain('<@UBOB>');
      expect(memberRow(shown.view, 'UBOB')).toContain('*AccountUser*');
      expect(allText(shown.view)).toContain('2 members');
      // Each member has a role button offering the other role, and a Remove button.
      expect(textOf(button(shown.view, 'member_actions:UBOB', 'member_set_role').text)).toBe('Make AccountAdmin');
      expect(textOf(button(shown.view, 'member_actions:UADMIN1', 'member_set_role').text)).toBe('Make AccountUser');
      expect(textOf(button(shown.view, 'member_actions:UBOB', 'member_remove').text)).toBe('Remove');
      for (const action of ['member_set_role', 'member_remove'])
        expect(button(shown.view, 'member_actions:UBOB', action).confirm).toBeDefined();
      // Few members: no paging.
      expect(findButton(shown.view, 'paging', 'console_next_page')).toBeUndefined();
      expect(findButton(shown.view, 'paging', 'console_previous_page')).toBeUndefined();
    });

    it('pages 25 members ten at a time with Next and Previous, updating the same view', async () => {
      // "Ada Admin" sorts first, then Member 01 … Member 24.
      const others = ids('UM', 1, 24);
      await insertMembers(
        t.db.knex,
        t.running.account,
        others.map((id, i) => ({ slackUserId: id, displayName: `Member ${String(i + 1).padStart(2, '0')}` })),
      );
      const first = await openConsole();
      expect(allText(first.view)).toContain('25 members');
      expect(memberRows(first.view)).toEqual(['UADMIN1', ...ids('UM', 1, 9)]);
      expect(findButton(first.view, 'paging', 'console_previous_page')).toBeUndefined();

      const second = await pressAndUpdate('UADMIN1', first, 'paging', 'console_next_page');
      expect(second.id).toBe(first.id);
      expect(second.view.callback_id).toBe('admin_console');
      expect(memberRows(second.view)).toEqual(ids('UM', 10, 19));
      expect(findButton(second.view, 'paging', 'console_previous_page')).toBeDefined();

      const third = await pressAndUpdate('UADMIN1', second, 'paging', 'console_next_page');
      expect(memberRows(third.view)).toEqual(ids('UM', 20, 24));
      expect(findButton(third.view, 'paging', 'console_next_page')).toBeUndefined();

      const backToSecond = await pressAndUpdate('UADMIN1', third, 'paging', 'console_previous_page');
      expect(memberRows(backToSecond.view)).toEqual(ids('UM', 10, 19));
      const backToFirst = await pressAndUpdate('UADMIN1', backToSecond, 'paging', 'console_previous_page');
      expect(memberRows(backToFirst.view)).toEqual(['UADMIN1', ...ids('UM', 1, 9)]);
      expect(findButton(backToFirst.view, 'paging', 'console_previous_page')).toBeUndefined();
      expect(findButton(backToFirst.view, 'paging', 'console_next_page')).toBeDefined();

      expect(t.standIn.callsTo('views.open')).toHaveLength(1);
      expect(t.standIn.callsTo('views.update').map((c) => c.params.view_id)).toEqual(Array(4).fill(first.id));
      expect(expectViewsWithinSlackLimits(t.standIn)).toBe(5);
    });

    it('answers through response_url when Slack refuses to open the console', async () => {
      t.standIn.fail('views.open', { error: 'expired_trigger_id' });
      const res = await t.running.slack.command('UADMIN1', '');
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
      const post = await waitFor(() => t.standIn.responseUrlPosts[0], 5_000, 'response_url post');
      expect(post.body.response_type).toBe('ephemeral');
      expect(String(post.body.text)).toContain('could not open the console (expired_trigger_id)');
    });

    it('keeps the page it is on when a change re-renders it', async () => {
      const others = ids('UM', 1, 24);
      await insertMembers(
        t.db.knex,
        t.running.account,
        others.map((id, i) => ({ slackUserId: id, displayName: `Member ${String(i + 1).padStart(2, '0')}` })),
      );
      const second = await pressAndUpdate('UADMIN1', await openConsole(), 'paging', 'console_next_page');
      const after = await pressAndUpdate('UADMIN1', second, 'member_actions:UM12', 'member_set_role');
      expect(noticeOf(after.view)).toContain('<@UM12> is now an *AccountAdmin*');
      expect(memberRows(after.view)).toEqual(ids('UM', 10, 19));
      expect(memberRow(after.view, 'UM12')).toContain('*AccountAdmin*');
    });

    it('says more invites are pending only when there are more than it shows', async () => {
      await t.db.knex('invites').delete();
      const admin = { accountId: t.running.account.id, slackUserId: 'UADMIN1', source: 'console' as const };
      const invite = async (id: string) =>
        expect(
          (await t.running.bot.services.invites.create(admin, { forSlackUserId: id, forDisplayName: id })).ok,
        ).toBe(true);
      for (const id of ids('UFULL', 1, CONSOLE_INVITES_SHOWN)) await invite(id);
      const full = await openConsole();
      expect(full.view.blocks.filter((b) => b.block_id?.startsWith('invite:'))).toHaveLength(CONSOLE_INVITES_SHOWN);
      expect(full.view.blocks.some((b) => b.block_id === 'invites_more')).toBe(false);
      await invite('UFULLMORE');
      const more = await openConsole();
      expect(more.view.blocks.filter((b) => b.block_id?.startsWith('invite:'))).toHaveLength(CONSOLE_INVITES_SHOWN);
      expect(allText(more.view)).toContain('`/chatbees-users invites` pages through them all');
    });

    it('stays within Slack limits when the console is at its fullest', async () => {
      await insertMembers(
        t.db.knex,
        t.running.account,
        ids('UM', 1, 40).map((id) => ({ slackUserId: id, displayName: `${'Long name '.repeat(20)}${id}` })),
      );
      const admin = { accountId: t.running.account.id, slackUserId: 'UADMIN1', source: 'console' as const };
      for (const id of ids('UINV', 1, 12)) {
        const made = await t.running.bot.services.invites.create(admin, { forSlackUserId: id, forDisplayName: id });
        expect(made.ok).toBe(true);
      }
      const first = await openConsole();
      expect(first.view.blocks.filter((b) => b.block_id?.startsWith('invite:'))).toHaveLength(10);
      expect(first.view.blocks.some((b) => b.block_id === 'invites_more')).toBe(true);
      const second = await pressAndUpdate('UADMIN1', first, 'paging', 'console_next_page');
      const firstInvite = first.view.blocks.find((b) => b.block_id?.startsWith('invite:'))?.block_id ?? '';
      const revoked = await pressAndUpdate('UADMIN1', second, firstInvite, 'invite_revoke');
      expect(noticeOf(revoked.view)).toContain('Revoked invite');
      expect(expectViewsWithinSlackLimits(t.standIn)).toBe(3);
    });
  });
});
