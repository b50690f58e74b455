// Slack's own changes to people, through signed Events API deliveries: a deactivation removes
// the member (actor "Slack"), except the last AccountAdmin able to act; reactivation registers
// nobody; a newcomer to the workspace is told how to ask for access, once.
import { beforeEach, describe, expect, it } from 'vitest';
import { botUnderTest, handled, resetAccount } from '../support/bot.js';
import { backends } from '../support/databases.js';
import { insertMembers } from '../support/fixtures.js';
import { TEAM_ID, waitFor } from '../support/slack-stand-in.js';

describe.each(backends)('Slack deactivations and newcomers on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), { users: ['UADMIN1', 'UADMIN2', 'UBOB', 'UNEW'] });
  beforeEach(() =>
    resetAccount(t.running, t.db, t.standIn, [
      { slackUserId: 'UADMIN1', role: 'AccountAdmin' },
      { slackUserId: 'UBOB' },
    ]),
  );

  const row = (user: string) =>
    t.db.knex('members').where({ account_id: t.running.account.id, slack_user_id: user }).first();
  const userChange = (id: string, deleted: boolean) =>
    t.running.slack.event({ type: 'user_change', user: { id, team_id: TEAM_ID, deleted, name: id.toLowerCase() } });
  /** Events are acked before they are handled: wait for the effect. */
  const settled = (what: string, check: () => Promise<boolean>) => waitFor(check, 5_000, what);

  it('removes a member deactivated in Slack, audited with Slack as the actor, and revokes the links they sent', async () => {
    await insertMembers(t.db.knex, t.running.account, [{ slackUserId: 'UADMIN2', role: 'AccountAdmin' }]);
    const invited = await t.running.bot.services.invites.create(
      { accountId: t.running.account.id, slackUserId: 'UADMIN2', source: 'slash_command' },
      { forSlackUserId: 'UNEW' },
    );
    expect(invited.ok).toBe(true);

    expect((await userChange('UADMIN2', true)).status).toBe(200);
    await settled('the removal', async () => (await row('UADMIN2')).status === 'removed');
    expect(await row('UADMIN2')).toMatchObject({ removed_by: 'Slack' });
    const audit = await t.db.knex('audit_log').where({ action: 'member.removed', target_slack_user_id: 'UADMIN2' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'Slack', source: 'slack_event' });
    expect((await t.db.knex('invites').where({ created_by: 'UADMIN2' }).first()).revoked_at).not.toBeNull();

    // Delivered again: nothing more happens.
    const since = t.running.logs.length;
    await userChange('UADMIN2', true);
    await handled(t.running, 'user_change', 1, since);
    expect(await t.db.knex('audit_log').where({ action: 'member.removed' })).toHaveLength(1);
    // The removed member is refused from then on.
    expect((await t.running.slack.command('UADMIN2', 'list')).json?.text).toMatch(/not registered/);
  });

  it('keeps the last AccountAdmin able to act, tells the admins, and shows it in whoami and the console', async () => {
    await userChange('UADMIN1', true);
    await settled('the admin marked', async () => (await row('UADMIN1')).slack_deactivated_at !== null);
    expect(await row('UADMIN1')).toMatchObject({ status: 'active', role: 'AccountAdmin' });
    expect(await t.db.knex('audit_log').where({ action: 'member.kept_deactivated', actor: 'Slack' })).toHaveLength(1);
    await settled('the admins told', async () => t.standIn.dmsTo('UADMIN1').length === 1);
    expect(String(t.standIn.dmsTo('UADMIN1')[0]?.params.text)).toMatch(
      /deactivated in Slack but stays an AccountAdmin/,
    );

    const whoami = await t.running.slack.command('UBOB', 'whoami');
    expect(whoami.json?.text).toMatch(/Every AccountAdmin of this account is deactivated in Slack/);
    expect(whoami.json?.text).toContain('INITIAL_ADMINS');

    // Once another admin exists, the console marks the deactivated one, who can then be removed.
    await insertMembers(t.db.knex, t.running.account, [{ slackUserId: 'UADMIN2', role: 'AccountAdmin' }]);
    expect((await t.running.slack.command('UBOB', 'whoami')).json?.text).not.toMatch(/deactivated in Slack/);
    const list = await t.running.slack.command('UADMIN2', 'list');
    expect(JSON.stringify(list.json)).toMatch(
      /<@UADMIN1> · \*AccountAdmin\* · registered [^"]* · :warning: deactivated in Slack/,
    );
    expect((await t.running.slack.command('UADMIN2', 'remove <@UADMIN1>')).status).toBe(200);
    await settled('the removal', async () => (await row('UADMIN1')).status === 'removed');
  });

  it('registers nobody again on reactivation; a kept admin is no longer marked', async () => {
    await userChange('UBOB', true);
    await settled('the removal', async () => (await row('UBOB')).status === 'removed');
    await userChange('UBOB', false);
    await userChange('UADMIN1', true);
    await settled('the admin marked', async () => (await row('UADMIN1')).slack_deactivated_at !== null);
    expect((await row('UBOB')).status).toBe('removed');

    await userChange('UADMIN1', false);
    await settled('the mark cleared', async () => (await row('UADMIN1')).slack_deactivated_at === null);
    expect((await t.running.slack.command('UBOB', 'whoami')).json?.text).toMatch(/not registered/);
  });

  it('ignores people of other workspaces', async () => {
    const since = t.running.logs.length;
    await t.running.slack.event(
      { type: 'user_change', user: { id: 'UBOB', team_id: 'TOTHER', deleted: true } },
      { team_id: 'TOTHER' },
    );
    await userChange('UADMIN1', false);
    await handled(t.running, 'user_change', 2, since);
    expect((await row('UBOB')).status).toBe('active');
    // The request log names the person by id, as for commands.
    const logged = t.running.logs
      .slice(since)
      .map((l) => JSON.parse(l))
      .filter((l) => l.name === 'user_change');
    expect(logged.map((l) => l.user)).toEqual(expect.arrayContaining(['UBOB', 'UADMIN1']));
  });

  it('tells a newcomer to the workspace how to ask for access, once, and not a bot', async () => {
    const join = (user: Record<string, unknown>, eventId: string) =>
      t.running.slack.event({ type: 'team_join', user: { team_id: TEAM_ID, ...user } }, { event_id: eventId });
    const since = t.running.logs.length;
    await join({ id: 'UNEW' }, 'Ev0JOIN1');
    await join({ id: 'UNEW' }, 'Ev0JOIN1'); // redelivered
    await join({ id: 'UBOTNEW', is_bot: true }, 'Ev0JOIN2');
    await handled(t.running, 'team_join', 3, since);
    expect(t.standIn.dmsTo('UNEW')).toHaveLength(1);
    expect(t.standIn.dmsTo('UBOTNEW')).toHaveLength(0);
    expect(String(t.standIn.dmsTo('UNEW')[0]?.params.text)).toMatch(/ask an AccountAdmin \(<@UADMIN1>\) for an invite/);
  });
});
