// The App Home tab: published when opened, with the role read afresh; AccountAdmins also see
// the member count, the pending invites and a button that opens the console (admins only).
import { beforeEach, describe, expect, it } from 'vitest';
import { BUTTONS } from '../../src/slack/operations.js';
import { botUnderTest, resetAccount } from '../support/bot.js';
import { backends } from '../support/databases.js';
import { insertMembers } from '../support/fixtures.js';
import { waitFor } from '../support/slack-stand-in.js';

describe.each(backends)('App Home on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), { users: ['UADMIN1', 'UBOB', 'UCAROL', 'USTRANGER'] });
  beforeEach(() =>
    resetAccount(t.running, t.db, t.standIn, [
      { slackUserId: 'UADMIN1', role: 'AccountAdmin', displayName: 'Ada' },
      { slackUserId: 'UBOB', displayName: 'Bob' },
    ]),
  );

  /** Opens the Home tab as `user`; returns the text of the view published for them. */
  async function openHome(user: string, tab = 'home') {
    const res = await t.running.slack.event({ type: 'app_home_opened', user, channel: 'D0HOME', tab });
    expect(res.status).toBe(200);
    const call = await waitFor(
      () => t.standIn.callsTo('views.publish').find((c) => c.params.user_id === user),
      5_000,
      `views.publish for ${user}`,
    );
    const view = (typeof call.params.view === 'string' ? JSON.parse(call.params.view) : call.params.view) as {
      type: string;
      blocks: unknown[];
    };
    return { view, text: JSON.stringify(view.blocks) };
  }

  it('shows an AccountAdmin their role, the member count, the pending invites and the console button', async () => {
    await t.running.slack.command('UADMIN1', 'invite <@UCAROL>');
    await waitFor(() => t.standIn.dmsTo('UCAROL').length === 1, 5_000, 'the invitation');
    const { view, text } = await openHome('UADMIN1');
    expect(view.type).toBe('home');
    expect(text).toContain('You are an *AccountAdmin*');
    expect(text).toContain('2 active members');
    expect(text).toContain('1 link not used yet');
    expect(text).toContain(BUTTONS.openConsoleFromHome);
  });

  it('shows an AccountUser their role only, and a non-member whom to ask', async () => {
    const bob = await openHome('UBOB');
    expect(bob.text).toContain('You are an *AccountUser*');
    expect(bob.text).not.toContain('active member');
    expect(bob.text).not.toContain(BUTTONS.openConsoleFromHome);

    const stranger = await openHome('USTRANGER');
    expect(stranger.text).toContain('You are not registered');
    expect(stranger.text).toContain('<@UADMIN1>');
    expect(stranger.text).not.toContain(BUTTONS.openConsoleFromHome);
  });

  it('reads the role afresh each time the tab opens', async () => {
    expect((await openHome('UADMIN1')).text).toContain(BUTTONS.openConsoleFromHome);
    await insertMembers(t.db.knex, t.running.account, [{ slackUserId: 'UCAROL', role: 'AccountAdmin' }]);
    await t.db.knex('members').where({ slack_user_id: 'UADMIN1' }).update({ role: 'AccountUser' });
    t.standIn.reset();
    const again = await openHome('UADMIN1');
    expect(again.text).toContain('You are an *AccountUser*');
    expect(again.text).not.toContain(BUTTONS.openConsoleFromHome);
  });

  it('publishes nothing for the Messages tab', async () => {
    const res = await t.running.slack.event({
      type: 'app_home_opened',
      user: 'UADMIN1',
      channel: 'D0HOME',
      tab: 'messages',
    });
    expect(res.status).toBe(200);
    await openHome('UBOB'); // a later event is handled, so the earlier one has been too
    expect(t.standIn.callsTo('views.publish').filter((c) => c.params.user_id === 'UADMIN1')).toHaveLength(0);
  });

  it('opens the console from the button for an AccountAdmin, and refuses anyone else', async () => {
    await t.running.slack.blockAction('UADMIN1', { action_id: BUTTONS.openConsoleFromHome });
    const opened = await waitFor(() => t.standIn.callsTo('views.open')[0], 5_000, 'views.open');
    expect(JSON.stringify(opened.params.view)).toContain('<@UBOB>');
    expect(JSON.stringify(opened.params.view)).toContain('"type":"modal"');

    t.standIn.reset();
    // Pressed in the Home tab: the refusal opens as a modal (a Home view cannot become one).
    await t.running.slack.blockAction(
      'UBOB',
      { action_id: BUTTONS.openConsoleFromHome },
      { view: { id: 'VHOME1', type: 'home' } },
    );
    const refusal = await waitFor(() => t.standIn.callsTo('views.open')[0], 5_000, 'the refusal shown');
    expect(JSON.stringify(refusal.params.view)).toMatch(/needs the AccountAdmin role/);
    expect(t.standIn.callsTo('views.update')).toHaveLength(0);
    await waitFor(
      async () =>
        // Named by its key, and recorded as coming from the Home tab, not the console.
        (await t.db.knex('audit_log').where({ action: 'access.refused', actor: 'UBOB', source: 'app_home' })).find(
          (r) => r.after.operation === 'console.open_from_home',
        ),
      5_000,
      'the refusal recorded',
    );
    expect(t.standIn.callsTo('views.open')).toHaveLength(1);
  });
});
