// Multi-workspace mode: uninstalling (or revoking the bot token) forgets the workspace's tokens and
// keeps its members; installing again picks the same account up.
import { describe, expect, it } from 'vitest';
import { handled } from '../../support/bot.js';
import { backends } from '../../support/databases.js';
import { insertMembers } from '../../support/fixtures.js';
import { multiWorkspaceBot, textOf } from '../../support/multi-workspace-bot.js';
import { PageSession } from '../../support/page-session.js';
import { waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('multi-workspace mode on $name', (backend) => {
  const t = multiWorkspaceBot(backend);
  const { install, accountOf, membersOf, command } = t;

  it("a workspace's links do not work while the app is uninstalled there, and work again after a re-install", async () => {
    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    t.standIn.addUser({ id: 'UTINA', team_id: 'T0TWO', name: 'Tina' });
    await command('T0TWO', 'UBEA', 'invite <@UTINA>');
    const dm = await waitFor(() => t.standIn.dmsTo('UTINA')[0], 5_000, 'the invitation');
    const url = /<(https:\/\/bees\.example\.test\/register\/[^|>]+)\|/.exec(String(dm.params.text))?.[1] as string;
    const path = new URL(url).pathname;
    const session = new PageSession(t.running.url);
    const page = await session.signInAs(path, t.standIn, { user: 'UTINA', team: 'T0TWO' });
    expect(page.html).toContain('Confirm and join');

    const since = t.running.logs.length;
    await t.running.slack.event(
      { type: 'app_uninstalled' },
      { team_id: 'T0TWO', authorizations: [{ team_id: 'T0TWO', user_id: 'UBOT1', is_bot: true }] },
    );
    await handled(t.running, 'app_uninstalled', 1, since);
    const refused = await session.submit(path, page.html);
    expect(refused.status).toBe(403);
    expect(textOf(refused.html)).toContain('ChatBees Users is not installed in this Slack workspace now');
    expect((await session.go(path)).status).toBe(403);
    expect((await membersOf('T0TWO')).map((m) => m.slack_user_id)).toEqual(['UBEA']);

    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    const again = await session.signInAs(path, t.standIn, { user: 'UTINA', team: 'T0TWO' });
    expect((await session.submit(path, again.html)).status).toBe(200);
    expect(await membersOf('T0TWO')).toContainEqual(
      expect.objectContaining({ slack_user_id: 'UTINA', status: 'active' }),
    );
  });

  it('forgets the tokens on app_uninstalled and keeps the members; a re-install picks the account up unchanged', async () => {
    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    const two = await accountOf('T0TWO');
    await insertMembers(t.db.knex, { ...two, slackTeamId: 'T0TWO' }, [{ slackUserId: 'UTWOUSER' }]);
    const members = await membersOf('T0TWO');

    const since = t.running.logs.length;
    const res = await t.running.slack.event(
      { type: 'app_uninstalled' },
      { team_id: 'T0TWO', authorizations: [{ team_id: 'T0TWO', user_id: 'UBOT1', is_bot: true }] },
    );
    expect(res.status).toBe(200);
    await handled(t.running, 'app_uninstalled', 1, since);
    expect(await t.db.knex('installations').where({ install_key: 'T:T0TWO' })).toEqual([]);
    expect(await membersOf('T0TWO')).toEqual(members);
    const uninstalled = await t.db.knex('audit_log').where({ account_id: two.id, action: 'app.uninstalled' });
    expect(uninstalled).toHaveLength(1);
    expect(uninstalled[0]).toMatchObject({ actor: 'Slack', source: 'slack_event' });

    // Nothing is served to that workspace any more, and nothing changes.
    const before = t.standIn.calls.length;
    const logsBefore = t.running.logs.length;
    const refused = await command('T0TWO', 'UBEA', 'remove <@UTWOUSER>');
    expect(refused.status).toBe(200);
    expect(refused.text).not.toMatch(/removed/i);
    const logged = t.running.logs.slice(logsBefore).map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(logged.map((l) => l.msg)).toContain('request from a workspace where the app is not installed; ignored');
    expect(logged.filter((l) => l.level >= 50)).toEqual([]);
    expect(await membersOf('T0TWO')).toEqual(members);
    expect(t.standIn.calls.slice(before).filter((c) => c.method === 'chat.postMessage')).toEqual([]);

    // Someone else installs it again: same account, same members, no new admin.
    const again = await install({ user: 'UNEWBIE', team: 'T0TWO', teamName: 'Two Ltd' });
    expect(again.status).toBe(200);
    expect(again.text).toMatch(/installed again/);
    expect(again.text).toMatch(/already has AccountAdmins/);
    expect((await accountOf('T0TWO')).id).toBe(two.id);
    expect(await membersOf('T0TWO')).toEqual(members);
    expect((await command('T0TWO', 'UBEA', 'whoami')).text).toMatch(/You are an \*AccountAdmin\*/);
    // The audit log tells the story.
    const audit = (await command('T0TWO', 'UBEA', 'audit')).raw;
    expect(audit).toContain('<@UBEA> installed the app and became an AccountAdmin');
    expect(audit).toContain('The app was uninstalled in Slack; its tokens were deleted, members kept');
    expect(audit).toContain('<@UNEWBIE> installed the app in Slack again');
  });

  it('forgets the tokens when the bot token is revoked, not when only user tokens are', async () => {
    await install({ user: 'UBEA', team: 'T0TWO' });
    const revoke = (tokens: Record<string, string[]>) =>
      t.running.slack.event(
        { type: 'tokens_revoked', tokens },
        { team_id: 'T0TWO', authorizations: [{ team_id: 'T0TWO', user_id: 'UBOT1', is_bot: true }] },
      );
    let since = t.running.logs.length;
    await revoke({ oauth: ['UBEA'] });
    await handled(t.running, 'tokens_revoked', 1, since);
    expect(await t.db.knex('installations').where({ install_key: 'T:T0TWO' })).toHaveLength(1);
    since = t.running.logs.length;
    await revoke({ bot: ['UBOT1'] });
    await handled(t.running, 'tokens_revoked', 1, since);
    expect(await t.db.knex('installations').where({ install_key: 'T:T0TWO' })).toEqual([]);
    expect(await membersOf('T0TWO')).toHaveLength(1);
  });

  it('makes the installer an AccountAdmin on a re-install when every admin was deactivated in Slack', async () => {
    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    const since = t.running.logs.length;
    await t.running.slack.event(
      { type: 'user_change', user: { id: 'UBEA', team_id: 'T0TWO', deleted: true } },
      { team_id: 'T0TWO', authorizations: [{ team_id: 'T0TWO', user_id: 'UBOT1', is_bot: true }] },
    );
    await handled(t.running, 'user_change', 1, since);
    expect((await command('T0TWO', 'UBEA', 'whoami')).text).toMatch(/install the app again/);
    const again = await install({ user: 'UNEWBIE', team: 'T0TWO' });
    expect(again.text).toMatch(/You are its first AccountAdmin/);
    const members = await membersOf('T0TWO');
    expect(members.map((m) => [m.slack_user_id, m.role, m.status])).toEqual([
      ['UBEA', 'AccountAdmin', 'active'],
      ['UNEWBIE', 'AccountAdmin', 'active'],
    ]);
    // The new admin can act, and the warning is gone.
    expect((await command('T0TWO', 'UNEWBIE', 'whoami')).text).not.toMatch(/deactivated/);
  });

  it('keeps the tokens of a re-install when an older uninstall event arrives late', async () => {
    await install({ user: 'UBEA', team: 'T0TWO' });
    const uninstall = (secondsAgo: number) =>
      t.running.slack.event(
        { type: 'app_uninstalled' },
        {
          team_id: 'T0TWO',
          event_time: Math.floor(Date.now() / 1000) - secondsAgo,
          authorizations: [{ team_id: 'T0TWO', user_id: 'UBOT1', is_bot: true }],
        },
      );
    let since = t.running.logs.length;
    // Slack redelivers an hour-old event (the app has been installed again since).
    await uninstall(3600);
    await handled(t.running, 'app_uninstalled', 1, since);
    expect(await t.db.knex('installations').pluck('install_key')).toEqual(['T:T0TWO']);
    expect(await t.db.knex('audit_log').where({ action: 'app.uninstalled' })).toEqual([]);
    expect((await command('T0TWO', 'UBEA', 'whoami')).text).toMatch(/You are an \*AccountAdmin\*/);
    // The uninstall of now removes them.
    since = t.running.logs.length;
    await uninstall(0);
    await handled(t.running, 'app_uninstalled', 1, since);
    expect(await t.db.knex('installations')).toEqual([]);
  });
});
