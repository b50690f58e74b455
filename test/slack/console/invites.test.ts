// The admin console end to end, invites: the pending ones it lists and revokes, and the form that
// invites people. The real bot over HTTP, its database on each backend, the Slack stand-in.
import type { InputBlock, ModalView, MultiUsersSelect } from '@slack/types';
import { describe, expect, it, vi } from 'vitest';
import {
  allText,
  blockById,
  blockText,
  blockTexts,
  button,
  consoleUnderTest,
  ids,
  noticeOf,
  slackLimitProblems,
  textOf,
} from '../../support/console-views.js';
import { backends } from '../../support/databases.js';
import { insertMembers } from '../../support/fixtures.js';
import { type Call, waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('admin console on $name', (backend) => {
  const t = consoleUnderTest(backend);
  const {
    serveView,
    viewCall,
    openConsole,
    pressAndUpdate,
    openInviteForm,
    submitInvites,
    inviteOutcome,
    auditRows,
    pendingInvitesFor,
    registrationLinkIn,
    expectLinkFor,
  } = t;

  // --- Pending invites ---

  describe('pending invites', () => {
    it('lists pending invites with their ids; Revoke revokes one and re-renders with a notice', async () => {
      const admin = { accountId: t.running.account.id, slackUserId: 'UADMIN1', source: 'console' as const };
      const one = await t.running.bot.services.invites.create(admin, { forSlackUserId: 'UNEW1' });
      const two = await t.running.bot.services.invites.create(admin, { forSlackUserId: 'UNEW2' });
      if (!one.ok || !two.ok) throw new Error('invites not created');
      const shown = await openConsole();
      for (const [invite, user] of [
        [one.invite, 'UNEW1'],
        [two.invite, 'UNEW2'],
      ] as const) {
        const block = blockById(shown.view, `invite:${invite.id}`);
        expect(blockText(block)).toContain(`\`${invite.id}\``);
        expect(blockText(block)).toContain(`<@${user}>`);
        const revoke = button(shown.view, `invite:${invite.id}`, 'invite_revoke');
        expect(textOf(revoke.text)).toBe('Revoke');
        expect(revoke.value).toBe(invite.id);
        expect(revoke.confirm).toBeDefined();
      }

      const after = await pressAndUpdate('UADMIN1', shown, `invite:${one.invite.id}`, 'invite_revoke');
      expect(after.view.callback_id).toBe('admin_console');
      // Worded as the command words it: whose invite it was, and that the link no longer works.
      expect(noticeOf(after.view)).toContain(
        `Revoked invite \`${one.invite.id}\` for <@${one.invite.forSlackUserId}>: the link no longer works.`,
      );
      expect(after.view.blocks.some((b) => b.block_id === `invite:${one.invite.id}`)).toBe(false);
      expect(after.view.blocks.some((b) => b.block_id === `invite:${two.invite.id}`)).toBe(true);
      const row = await t.db.knex('invites').where({ id: one.invite.id }).first();
      expect(row).toMatchObject({ revoke_reason: 'revoked', revoked_by: 'UADMIN1' });
      expect(row.revoked_at).not.toBeNull();
      expect(await pendingInvitesFor('UNEW2')).toEqual([two.invite.id]);
      expect(await auditRows('invite.revoked')).toEqual([
        expect.objectContaining({ actor: 'UADMIN1', target_invite_id: one.invite.id, source: 'console' }),
      ]);
    });

    it('says "None" when nothing is pending', async () => {
      const shown = await openConsole();
      expect(blockText(blockById(shown.view, 'invites_title'))).toContain('None.');
    });
  });

  // --- The invite form ---

  describe('inviting people from the console', () => {
    it('"Invite people…" pushes a form with a multi_users_select', async () => {
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      expect(form.view).toMatchObject({ type: 'modal', callback_id: 'invite_people' });
      expect(textOf(form.view.submit)).not.toBe('');
      const input = blockById(form.view, 'invitees');
      expect(input?.type).toBe('input');
      // Narrowed to what the two lines above and below check it is.
      const select = (input as InputBlock | undefined)?.element as MultiUsersSelect | undefined;
      expect(select).toMatchObject({ type: 'multi_users_select', action_id: 'invitees_select' });
      expect(select?.max_selected_items).toBe(50);
    });

    it('invites each person picked, DMs each a registration link and shows the outcome per person', async () => {
      await insertMembers(t.db.knex, t.running.account, [{ slackUserId: 'UBOB', displayName: 'Bob' }]);
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      const since = t.standIn.calls.length;
      const res = await submitInvites('UADMIN1', form, ['UNEW1', 'UNEW2', 'UBOTX', 'UGHOST', 'UBOB'], shown.id);
      expect(res.status).toBe(200);
      expect(res.json?.response_action).toBe('update');
      expect(slackLimitProblems(res.json?.view as ModalView)).toEqual([]);

      const { outcome, root } = await inviteOutcome(form, shown, since);
      const lines = blockTexts(outcome.view);
      expect(lines[0]).toContain('2 of 5 invited');
      const lineFor = (user: string) => {
        const found = lines.filter((l) => l.includes(`<@${user}>`));
        expect(found, user).toHaveLength(1);
        return found[0] ?? '';
      };
      expect(lineFor('UNEW1')).toContain('invited; registration link sent by DM');
      expect(lineFor('UNEW2')).toContain('invited; registration link sent by DM');
      expect(lineFor('UBOTX')).toContain('not invited: is a bot');
      expect(lineFor('UGHOST')).toContain('not invited: is not a Slack user I can find');
      expect(lineFor('UBOB')).toContain('already a member');

      for (const user of ['UNEW1', 'UNEW2']) {
        const dms = t.standIn.dmsTo(user);
        expect(dms, user).toHaveLength(1);
        expect(dms[0]?.params).toMatchObject({ unfurl_links: false, unfurl_media: false });
        await expectLinkFor(registrationLinkIn(dms[0] as Call), user);
        expect(await pendingInvitesFor(user)).toHaveLength(1);
      }
      for (const user of ['UBOTX', 'UGHOST', 'UBOB']) {
        expect(t.standIn.dmsTo(user), user).toHaveLength(0);
        expect(await pendingInvitesFor(user), user).toHaveLength(0);
      }
      // The console underneath now lists the new invites.
      const inviteBlocks = root.view.blocks.filter((b) => b.block_id?.startsWith('invite:'));
      expect(inviteBlocks.map(blockText).join('\n')).toMatch(/<@UNEW1>[\s\S]*<@UNEW2>|<@UNEW2>[\s\S]*<@UNEW1>/);
    });

    it.each([
      ['nobody', [] as string[], 'at least one'],
      ['51 people', ids('UMANY', 1, 51), 'at most 50'],
    ])('answers %s with a field error and sends nothing', async (_what, people, message) => {
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      const since = t.standIn.calls.length;
      const res = await submitInvites('UADMIN1', form, people, shown.id);
      expect(res.status).toBe(200);
      expect(res.json?.response_action).toBe('errors');
      const errors = res.json?.errors as Record<string, string>;
      expect(Object.keys(errors)).toEqual(['invitees']);
      expect(errors.invitees).toContain(message);
      expect(t.standIn.calls.slice(since)).toEqual([]);
      expect(Number((await t.db.knex('invites').count<{ n: number }>({ n: '*' }).first())?.n)).toBe(0);
    });

    it('invites once when Slack delivers the same form submission twice', async () => {
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      const claims: boolean[] = [];
      const requests = t.running.bot.services.requests;
      const claim = requests.claim.bind(requests);
      vi.spyOn(requests, 'claim').mockImplementation(async (key: string) => {
        const claimed = await claim(key);
        claims.push(claimed);
        return claimed;
      });
      const since = t.standIn.calls.length;
      const submit = () =>
        t.running.slack.viewSubmission(
          'UADMIN1',
          {
            id: form.id,
            hash: form.hash,
            callback_id: 'invite_people',
            root_view_id: shown.id,
            values: { invitees: { invitees_select: { type: 'multi_users_select', selected_users: ['UNEW1'] } } },
          },
          { trigger_id: 'same-trigger-both-times' },
        );
      expect((await submit()).json?.response_action).toBe('update');
      await inviteOutcome(form, shown, since);
      expect((await submit()).json?.response_action).toBe('update');
      await waitFor(() => claims.length === 2, 5_000, 'second claim');
      expect(claims).toEqual([true, false]);
      expect(t.standIn.dmsTo('UNEW1')).toHaveLength(1);
      expect(await auditRows('invite.created')).toHaveLength(1);
    });

    it('sends the outcome by DM when the admin closed the form before it was ready', async () => {
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      const since = t.standIn.calls.length;
      t.standIn.on('views.update', (p) => (p.view_id === form.id ? { ok: false, error: 'not_found' } : serveView(p)));
      try {
        t.standIn.fail('chat.postMessage', { error: 'channel_not_found' });
        await submitInvites('UADMIN1', form, ['UNEW1'], shown.id);
        const dm = await waitFor(() => t.standIn.dmsTo('UADMIN1')[0], 5_000, 'outcome DM to the admin');
        const text = String(dm.params.text);
        expect(text).toContain('<@UNEW1>');
        expect(text).toContain('could not DM them (channel_not_found)');
        await expectLinkFor(/<(https:[^|>]+)\|registration link>/.exec(text)?.[1] ?? '', 'UNEW1');
        await viewCall('views.update', (c) => c.params.view_id === shown.id, since, 'console refresh');
      } finally {
        t.standIn.on('views.update', serveView);
      }
    });

    it('puts the registration link in the outcome when the DM to the invitee fails', async () => {
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      const since = t.standIn.calls.length;
      t.standIn.fail('chat.postMessage', { error: 'channel_not_found' });
      const res = await submitInvites('UADMIN1', form, ['UNEW1'], shown.id);
      expect(res.json?.response_action).toBe('update');

      const { outcome } = await inviteOutcome(form, shown, since);
      const line = blockTexts(outcome.view).find((l) => l.includes('<@UNEW1>')) ?? '';
      expect(line).toContain('could not DM them (channel_not_found)');
      const url = /<(https:[^|>]+)\|registration link>/.exec(line)?.[1] ?? '';
      await expectLinkFor(url, 'UNEW1');
      expect(await pendingInvitesFor('UNEW1')).toHaveLength(1);
    });

    it('puts the link only of the person the DM did not reach in the outcome', async () => {
      t.standIn.on('conversations.open', (p) =>
        p.users === 'UNEW2'
          ? { ok: false, error: 'cannot_dm_bot' }
          : { channel: { id: `D${String(p.users).slice(1)}` } },
      );
      try {
        const shown = await openConsole();
        const form = await openInviteForm('UADMIN1', shown);
        const since = t.standIn.calls.length;
        await submitInvites('UADMIN1', form, ['UNEW1', 'UNEW2'], shown.id);
        const { outcome } = await inviteOutcome(form, shown, since);
        const text = allText(outcome.view);
        const links = [...text.matchAll(/<(https:[^|>]+)\|registration link>/g)].map((m) => m[1] ?? '');
        expect(links).toHaveLength(1);
        await expectLinkFor(links[0] ?? '', 'UNEW2');
        expect(blockTexts(outcome.view).find((l) => l.includes('<@UNEW2>'))).toContain(
          'could not DM them (cannot_dm_bot)',
        );
        expect(blockTexts(outcome.view).find((l) => l.includes('<@UNEW1>'))).toContain('registration link sent by DM');
        expect(t.standIn.dmsTo('UNEW1')).toHaveLength(1);
        expect(t.standIn.dmsTo('UNEW2')).toHaveLength(0);
      } finally {
        t.standIn.on('conversations.open', (p) => ({ channel: { id: `D${String(p.users).slice(1)}` } }));
      }
    });

    it('takes channels too: a few are invited at once with the counts; past 50, the counts go to the admin by DM with Invite', async () => {
      const crowd = Array.from({ length: 60 }, (_, i) => `UCROWD${String(i).padStart(3, '0')}`);
      for (const id of crowd) t.standIn.addUser({ id });
      t.standIn.addChannel({ id: 'CFEW0001', members: ['UNEW1', 'UNEW2', 'UADMIN1'] });
      t.standIn.addChannel({ id: 'CMANY001', members: crowd });
      await t.db.knex('bulk_invitations').del();
      const withChannels = (form: { id: string; hash: string }, channels: string[], rootViewId: string) =>
        t.running.slack.viewSubmission('UADMIN1', {
          id: form.id,
          hash: form.hash,
          callback_id: 'invite_people',
          root_view_id: rootViewId,
          values: {
            invitees: { invitees_select: { type: 'multi_users_select', selected_users: [] } },
            invitee_channels: {
              invitee_channels_select: { type: 'multi_conversations_select', selected_conversations: channels },
            },
          },
        });
      let shown = await openConsole();
      let form = await openInviteForm('UADMIN1', shown);
      expect(JSON.stringify(form.view)).toContain('multi_conversations_select');
      let since = t.standIn.calls.length;
      expect((await withChannels(form, ['CFEW0001'], shown.id)).json?.response_action).toBe('update');
      const { outcome } = await inviteOutcome(form, shown, since);
      expect(allText(outcome.view)).toContain('3 people in <#CFEW0001>: 2 to invite, 1 already a member.');
      expect(t.standIn.dmsTo('UNEW1')).toHaveLength(1);
      expect(t.standIn.dmsTo('UNEW2')).toHaveLength(1);

      shown = await openConsole();
      form = await openInviteForm('UADMIN1', shown);
      since = t.standIn.calls.length;
      await withChannels(form, ['CMANY001'], shown.id);
      const told = await viewCall('views.update', (c) => c.params.view_id === form.id, since, 'the form says where');
      expect(allText(told.params.view as ModalView)).toContain('I sent you the counts by DM: confirm there.');
      const dm = await waitFor(() => t.standIn.dmsTo('UADMIN1').at(-1), 5_000, 'the counts by DM');
      expect(String(dm.params.text)).toBe('60 people in <#CMANY001>: 60 to invite. Invite them?');
      expect(JSON.stringify(dm.params.blocks)).toContain('bulk_invite_start');
      // Nobody was invited yet.
      expect(crowd.filter((u) => t.standIn.dmsTo(u).length > 0)).toEqual([]);
    });
  });
});
