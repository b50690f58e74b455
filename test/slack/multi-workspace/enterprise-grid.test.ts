// Multi-workspace mode on Enterprise Grid: an org-wide install serves every workspace of the org
// from one account; a workspace of the org that installs the app itself has its own.
import { describe, expect, it } from 'vitest';
import { BUTTONS } from '../../../src/slack/operations.js';
import { handled } from '../../support/bot.js';
import { backends } from '../../support/databases.js';
import { multiWorkspaceBot } from '../../support/multi-workspace-bot.js';
import { waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('multi-workspace mode on $name', (backend) => {
  const t = multiWorkspaceBot(backend);
  const { install, command } = t;

  it('serves every workspace of an Enterprise Grid org from one account after an org-wide install', async () => {
    const done = await install({
      user: 'UORGADMIN',
      team: 'T0GRIDA',
      enterprise: { id: 'E0GRID', name: 'Grid Corp' },
      orgWide: true,
    });
    expect(done.status).toBe(200);
    const org = await t.db
      .knex('accounts')
      .where({ slack_enterprise_id: 'E0GRID', is_enterprise_install: true })
      .first();
    expect(org).toMatchObject({ name: 'Grid Corp', slack_team_id: null });
    expect(await t.db.knex('installations').pluck('install_key')).toEqual(['E:E0GRID']);
    // From any workspace of the org, the same account answers.
    for (const team of ['T0GRIDA', 'T0GRIDB']) {
      const answer = await command(team, 'UORGADMIN', 'whoami', {
        enterprise_id: 'E0GRID',
        is_enterprise_install: 'true',
      });
      expect(answer.text, team).toMatch(/You are an \*AccountAdmin\* of \*Grid Corp\*/);
    }
    // A button (here the Home tab's) from another workspace of the org: the org's account, and
    // the org's token to open the console.
    const calls = t.standIn.calls.length;
    const pressed = await t.running.slack.blockAction(
      'UORGADMIN',
      { action_id: BUTTONS.openConsoleFromHome },
      {},
      {
        user: { id: 'UORGADMIN', team_id: 'T0GRIDB', username: 'uorgadmin' },
        team: { id: 'T0GRIDB', domain: 'grid-b', enterprise_id: 'E0GRID' },
        enterprise: { id: 'E0GRID', name: 'Grid Corp' },
        is_enterprise_install: true,
      },
    );
    expect(pressed.status).toBe(200);
    const opened = await waitFor(
      () => t.standIn.calls.slice(calls).find((c) => c.method === 'views.open'),
      5_000,
      'console',
    );
    expect(opened.authorization).toBe(`Bearer ${t.standIn.tokenOf('E0GRID')}`);
    expect(JSON.stringify(opened.params)).toContain('Grid Corp');
  });

  it('serves a workspace that installs the app itself after its org-wide install was removed from its own account', async () => {
    const grid = { id: 'E0GRID', name: 'Grid Corp' };
    await install({ user: 'UORGADMIN', team: 'T0GRIDA', enterprise: grid, orgWide: true });
    let since = t.running.logs.length;
    await t.running.slack.event(
      { type: 'app_uninstalled' },
      {
        team_id: 'T0GRIDA',
        enterprise_id: 'E0GRID',
        authorizations: [
          { team_id: null, enterprise_id: 'E0GRID', user_id: 'UBOT1', is_bot: true, is_enterprise_install: true },
        ],
      },
    );
    await handled(t.running, 'app_uninstalled', 1, since);
    expect(await t.db.knex('installations')).toEqual([]);

    // A workspace of that org installs the app on its own.
    const done = await install({ user: 'UWSADMIN', team: 'T0GRIDA', teamName: 'Grid A', enterprise: grid });
    expect(done.text).toMatch(/You are its first AccountAdmin/);
    const fromWorkspace = await command('T0GRIDA', 'UWSADMIN', 'whoami', {
      enterprise_id: 'E0GRID',
      is_enterprise_install: 'false',
    });
    expect(fromWorkspace.text).toMatch(/You are an \*AccountAdmin\* of \*Grid A\*/);
    // The org's admin is not a member of the workspace's account, and its old account is untouched.
    const orgAdmin = await command('T0GRIDA', 'UORGADMIN', 'list', {
      enterprise_id: 'E0GRID',
      is_enterprise_install: 'false',
    });
    expect(orgAdmin.text).not.toMatch(/UWSADMIN/);
    expect(orgAdmin.text).toMatch(/You are not registered in this ChatBees account/);
    const org = await t.db
      .knex('accounts')
      .where({ slack_enterprise_id: 'E0GRID', is_enterprise_install: true })
      .first();
    expect(await t.db.knex('members').where({ account_id: org.id }).pluck('slack_user_id')).toEqual(['UORGADMIN']);

    // A user_change from that workspace is the workspace's account's too.
    since = t.running.logs.length;
    await t.running.slack.event(
      { type: 'user_change', user: { id: 'UORGADMIN', team_id: 'T0GRIDA', enterprise_id: 'E0GRID', deleted: true } },
      {
        team_id: 'T0GRIDA',
        enterprise_id: 'E0GRID',
        authorizations: [{ team_id: 'T0GRIDA', enterprise_id: 'E0GRID', user_id: 'UBOT2', is_bot: true }],
      },
    );
    await handled(t.running, 'user_change', 1, since);
    expect(await t.db.knex('members').where({ account_id: org.id }).first()).toMatchObject({
      status: 'active',
      slack_deactivated_at: null,
    });
  });
});
