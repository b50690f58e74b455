// Multi-workspace mode: every request and page is served with its own workspace's account and
// token; an admin of one workspace can do nothing in another.
import { describe, expect, it, vi } from 'vitest';
import { backends } from '../../support/databases.js';
import { insertMembers } from '../../support/fixtures.js';
import { multiWorkspaceBot, textOf } from '../../support/multi-workspace-bot.js';
import { PageSession } from '../../support/page-session.js';
import { waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('multi-workspace mode on $name', (backend) => {
  const t = multiWorkspaceBot(backend);
  const { install, accountOf, membersOf, command } = t;

  it('reads who asks with the installation, once a request, and each workspace’s own', async () => {
    await install({ user: 'UADA', team: 'T0RD1', teamName: 'Read One' });
    await install({ user: 'UBEA', team: 'T0RD2', teamName: 'Read Two' });
    const { accounts } = t.running.bot.services;
    const findForSlack = vi.spyOn(accounts, 'findForSlack');
    const resolveActor = vi.spyOn(accounts, 'resolveActor');
    try {
      const ada = (await command('T0RD1', 'UADA', 'whoami')).text;
      expect(ada).toMatch(/AccountAdmin/);
      expect(ada).toMatch(/Read One/);
      const bea = (await command('T0RD2', 'UBEA', 'whoami')).text;
      expect(bea).toMatch(/AccountAdmin/);
      expect(bea).toMatch(/Read Two/);
      // Each admin is nobody in the other workspace, read in the same lookup.
      expect((await command('T0RD1', 'UBEA', 'whoami')).text).toMatch(/not registered in \*Read One\*/);
      expect(findForSlack).not.toHaveBeenCalled();
      expect(resolveActor).not.toHaveBeenCalled();
    } finally {
      findForSlack.mockRestore();
      resolveActor.mockRestore();
    }
  });

  it('keeps workspaces apart: an admin of one can neither see nor change the members of another', async () => {
    await install({ user: 'UADA', team: 'T0ONE', teamName: 'One Inc' });
    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    const one = await accountOf('T0ONE');
    const two = await accountOf('T0TWO');
    expect(one.id).not.toBe(two.id);
    await insertMembers(t.db.knex, { ...one, slackTeamId: 'T0ONE' }, [
      { slackUserId: 'UONEUSER', displayName: 'Olive' },
    ]);
    await insertMembers(t.db.knex, { ...two, slackTeamId: 'T0TWO' }, [
      { slackUserId: 'UTWOUSER', displayName: 'Tess' },
    ]);
    const twoBefore = await membersOf('T0TWO');

    // What each admin lists is their own workspace's account.
    const listOne = await command('T0ONE', 'UADA', 'list');
    expect(listOne.text).toMatch(/Members of One Inc\* — 2 in all/);
    expect(listOne.raw).toContain('UONEUSER');
    expect(listOne.raw).not.toMatch(/UTWOUSER|UBEA|Tess/);
    const listTwo = await command('T0TWO', 'UBEA', 'list');
    expect(listTwo.raw).toContain('UTWOUSER');
    expect(listTwo.raw).not.toMatch(/UONEUSER|UADA|Olive/);

    // Naming another workspace's member changes nothing there.
    for (const text of ['role <@UTWOUSER> admin', 'remove <@UTWOUSER>', 'role <@UBEA> user', 'remove <@UBEA>']) {
      const body = t.running.slack.commandBody('UADA', text, { team_id: 'T0ONE' });
      const responseUrl = String(body.get('response_url'));
      const ack = await t.running.slack.post(body.toString());
      const answer = String(
        ack.json?.text ??
          (await waitFor(() => t.standIn.responseUrlPosts.find((p) => responseUrl.endsWith(p.id)), 5_000, text)).body
            .text,
      );
      expect(answer, text).toMatch(/not an active member of this account/);
    }
    // Being an admin of one workspace gives nothing in another.
    const stranger = await command('T0ONE', 'UBEA', 'list');
    expect(stranger.text).toMatch(/not registered in this ChatBees account/);
    expect(stranger.raw).not.toContain('UONEUSER');
    expect(await membersOf('T0TWO')).toEqual(twoBefore);
    // The refusal is recorded after it is answered.
    const refusals = await waitFor(
      async () => {
        const rows = await t.db.knex('audit_log').where({ account_id: one.id, action: 'access.refused' });
        return rows.length > 0 && rows;
      },
      5_000,
      'the refusal in the audit log',
    );
    expect(refusals.map((r) => r.actor)).toEqual(['UBEA']);
    expect(await t.db.knex('audit_log').where({ account_id: two.id }).whereNot({ source: 'slack_install' })).toEqual(
      [],
    );
  });

  it('registers an invitee of one workspace through the pages, and tells them with that workspace token', async () => {
    await install({ user: 'UADA', team: 'T0ONE', teamName: 'One Inc' });
    await install({ user: 'UBEA', team: 'T0TWO', teamName: 'Two Ltd' });
    t.standIn.addUser({ id: 'UTINA', team_id: 'T0TWO', name: 'Tina' });
    const tokenTwo = t.standIn.tokenOf('T0TWO') as string;
    await command('T0TWO', 'UBEA', 'invite <@UTINA>');
    const dm = await waitFor(() => t.standIn.dmsTo('UTINA')[0], 5_000, 'the invitation');
    expect(dm.authorization).toBe(`Bearer ${tokenTwo}`);
    const url = /<(https:\/\/bees\.example\.test\/register\/[^|>]+)\|/.exec(String(dm.params.text))?.[1] as string;
    const path = new URL(url).pathname;
    // Sign in with Slack is set up (the same client id and secret): the invitee shows who they are.
    const session = new PageSession(t.running.url);
    const page = await session.signInAs(path, t.standIn, { user: 'UTINA', team: 'T0TWO' });
    expect(textOf(page.html)).toMatch(/join Two Ltd/);
    const confirmed = await session.submit(path, page.html);
    expect(confirmed.status).toBe(200);
    expect(await membersOf('T0TWO')).toContainEqual(
      expect.objectContaining({ slack_user_id: 'UTINA', role: 'AccountUser' }),
    );
    expect((await membersOf('T0ONE')).map((m) => m.slack_user_id)).toEqual(['UADA']);
    // The inviter hears of it, and the new member is welcomed, through workspace two's bot.
    const told = await waitFor(
      () => t.standIn.dmsTo('UBEA').find((c) => /UTINA/.test(String(c.params.text))),
      5_000,
      'told',
    );
    expect(told.authorization).toBe(`Bearer ${tokenTwo}`);
    const welcome = await waitFor(() => t.standIn.dmsTo('UTINA')[1], 5_000, 'welcome');
    expect(welcome.authorization).toBe(`Bearer ${tokenTwo}`);
  });
});
