// The admin console end to end, who may use it: an admin demoted while it is open, and people who
// are not AccountAdmins (forged buttons and forms included). Every refusal is audited and changes
// nothing. The real bot over HTTP, its database on each backend, the Slack stand-in.
import type { ModalView } from '@slack/types';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  allText,
  consoleUnderTest,
  ids,
  memberRows,
  noticeOf,
  slackLimitProblems,
} from '../../support/console-views.js';
import { backends } from '../../support/databases.js';
import { insertMembers } from '../../support/fixtures.js';

describe.each(backends)('admin console on $name', (backend) => {
  const t = consoleUnderTest(backend);
  const {
    servedFor,
    openConsole,
    pressAndUpdate,
    openInviteForm,
    submitInvites,
    memberOf,
    auditRows,
    pendingInvitesFor,
    expectRefusalAudited,
  } = t;

  // --- Demoted while the console is open ---

  describe('an admin demoted while the console is open', () => {
    it('is refused at the next button press and at the invite form, and the refusals are audited', async () => {
      await insertMembers(t.db.knex, t.running.account, [
        { slackUserId: 'UADMIN2', role: 'AccountAdmin', displayName: 'Ben Admin' },
        { slackUserId: 'UBOB', displayName: 'Bob' },
      ]);
      const console2 = await openConsole('UADMIN2');
      const form2 = await openInviteForm('UADMIN2', console2);

      // Meanwhile the other admin demotes them from their own console.
      const console1 = await openConsole('UADMIN1');
      const demoted = await pressAndUpdate('UADMIN1', console1, 'member_actions:UADMIN2', 'member_set_role');
      expect(noticeOf(demoted.view)).toContain('<@UADMIN2> is now an *AccountUser*');
      expect((await memberOf('UADMIN2')).role).toBe('AccountUser');
      const dmsBefore = t.standIn.callsTo('chat.postMessage').length;

      // A button in the console they still have open.
      const refused = await pressAndUpdate('UADMIN2', console2, 'member_actions:UBOB', 'member_remove');
      expect(refused.view.callback_id).not.toBe('admin_console');
      expect(memberRows(refused.view)).toEqual([]);
      expect(allText(refused.view)).toContain('needs the AccountAdmin role');
      expect(allText(refused.view)).toContain('you are an AccountUser');
      expect(await memberOf('UBOB')).toMatchObject({ status: 'active', role: 'AccountUser' });
      await expectRefusalAudited('UADMIN2', 'Removing members');

      // The invite form they still have open.
      const since = t.standIn.calls.length;
      const res = await submitInvites('UADMIN2', form2, ['UNEW1'], console2.id);
      expect(res.status).toBe(200);
      expect(res.json?.response_action).toBe('update');
      const view = res.json?.view as ModalView;
      expect(slackLimitProblems(view)).toEqual([]);
      expect(allText(view)).toContain('needs the AccountAdmin role');
      await expectRefusalAudited('UADMIN2', 'Inviting people');
      expect(await pendingInvitesFor('UNEW1')).toEqual([]);
      expect(t.standIn.calls.slice(since).filter((c) => c.method === 'users.info')).toHaveLength(0);
      expect(t.standIn.callsTo('chat.postMessage')).toHaveLength(dmsBefore);
      expect(await auditRows('member.removed')).toHaveLength(0);
      expect(await auditRows('invite.created')).toHaveLength(0);
    });

    it('is refused the invite form and paging after demotion', async () => {
      await insertMembers(t.db.knex, t.running.account, [
        { slackUserId: 'UADMIN2', role: 'AccountAdmin', displayName: 'Ben Admin' },
        ...ids('UM', 1, 12).map((id) => ({ slackUserId: id, displayName: `Member ${id}` })),
      ]);
      const console2 = await openConsole('UADMIN2');
      await t.db.knex('members').where({ slack_user_id: 'UADMIN2' }).update({ role: 'AccountUser' });

      const paged = await pressAndUpdate('UADMIN2', console2, 'paging', 'console_next_page');
      expect(memberRows(paged.view)).toEqual([]);
      expect(allText(paged.view)).toContain('needs the AccountAdmin role');
      await expectRefusalAudited('UADMIN2', 'Paging the console');

      const form = await pressAndUpdate('UADMIN2', console2, 'console_actions', 'console_open_invite_form');
      expect(allText(form.view)).toContain('needs the AccountAdmin role');
      await expectRefusalAudited('UADMIN2', 'Inviting people');
      expect(t.standIn.callsTo('views.push')).toHaveLength(0);
    });
  });

  // --- Not an admin ---

  describe('people who are not AccountAdmins', () => {
    beforeEach(async () => {
      await insertMembers(t.db.knex, t.running.account, [
        { slackUserId: 'UBOB', displayName: 'Bob' },
        { slackUserId: 'UCAROL', displayName: 'Carol' },
      ]);
    });

    it('an AccountUser and a non-member get an ephemeral answer and no console', async () => {
      const user = await t.running.slack.command('UBOB', '');
      expect(user.status).toBe(200);
      expect(user.json?.response_type).toBe('ephemeral');
      expect(String(user.json?.text)).toContain('You are an *AccountUser*');
      expect(String(user.json?.text)).toContain('AccountAdmins manage members');

      const stranger = await t.running.slack.command('UNOBODY', '');
      expect(stranger.status).toBe(200);
      expect(stranger.json?.response_type).toBe('ephemeral');
      expect(String(stranger.json?.text)).toContain('You are not registered');
      expect(String(stranger.json?.text)).toContain('Ask an AccountAdmin (<@UADMIN1>) for an invite');

      // An admin's console opens after theirs: only that one.
      const shown = await openConsole('UADMIN1');
      expect(t.standIn.callsTo('views.open').map((c) => servedFor(c)?.id)).toEqual([shown.id]);
    });

    it('refuses forged console buttons from an AccountUser and a non-member, changing nothing', async () => {
      const admin = { accountId: t.running.account.id, slackUserId: 'UADMIN1', source: 'console' as const };
      const made = await t.running.bot.services.invites.create(admin, { forSlackUserId: 'UNEW1' });
      if (!made.ok) throw new Error('invite not created');
      const forged: Array<[string, string, string, string, string]> = [
        ['UBOB', 'member_actions:UBOB', 'member_set_role', 'UBOB|AccountAdmin', 'Changing roles'],
        ['UBOB', 'member_actions:UCAROL', 'member_remove', 'UCAROL', 'Removing members'],
        ['UBOB', `invite:${made.invite.id}`, 'invite_revoke', made.invite.id, 'Revoking invites'],
        ['UBOB', 'console_actions', 'console_open_invite_form', '', 'Inviting people'],
        ['UNOBODY', 'member_actions:UBOB', 'member_remove', 'UBOB', 'Removing members'],
      ];
      for (const [i, [user, blockId, actionId, value, operation]] of forged.entries()) {
        const view: ModalView = {
          type: 'modal',
          callback_id: 'admin_console',
          title: { type: 'plain_text', text: 'ChatBees users' },
          private_metadata: '{}',
          blocks: [
            {
              type: 'actions',
              block_id: blockId,
              elements: [{ type: 'button', action_id: actionId, value, text: { type: 'plain_text', text: 'x' } }],
            },
          ],
        };
        const after = await pressAndUpdate(user, { id: `VFORGED${i}`, hash: 'forged', view }, blockId, actionId);
        expect(after.view.callback_id).not.toBe('admin_console');
        if (user === 'UBOB') {
          expect(allText(after.view)).toContain(`${operation} needs the AccountAdmin role; you are an AccountUser`);
          await expectRefusalAudited(user, operation);
        } else {
          expect(allText(after.view)).toContain('You are not registered in this ChatBees account');
          await expectRefusalAudited(user, operation, 'not_member');
        }
      }
      expect(await memberOf('UBOB')).toMatchObject({ role: 'AccountUser', status: 'active' });
      expect(await memberOf('UCAROL')).toMatchObject({ role: 'AccountUser', status: 'active' });
      expect(await pendingInvitesFor('UNEW1')).toEqual([made.invite.id]);
      expect(t.standIn.callsTo('chat.postMessage')).toHaveLength(0);
      expect(t.standIn.callsTo('views.push')).toHaveLength(0);
      for (const action of ['member.role_changed', 'member.removed', 'invite.revoked'])
        expect(await auditRows(action)).toHaveLength(0);
    });

    it('refuses a forged invite form submission from an AccountUser', async () => {
      const res = await submitInvites('UBOB', { id: 'VFORM', hash: 'h' }, ['UNEW1'], 'VROOT');
      expect(res.status).toBe(200);
      expect(res.json?.response_action).toBe('update');
      expect(allText(res.json?.view as ModalView)).toContain('Inviting people needs the AccountAdmin role');
      await expectRefusalAudited('UBOB', 'Inviting people');
      expect(await pendingInvitesFor('UNEW1')).toEqual([]);
      expect(t.standIn.callsTo('users.info')).toHaveLength(0);
      expect(t.standIn.callsTo('chat.postMessage')).toHaveLength(0);
    });
  });
});
