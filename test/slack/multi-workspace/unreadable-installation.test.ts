// Multi-workspace mode: an installation that is stored but cannot be read (not "not installed").
import { describe, expect, it } from 'vitest';
import { INSTALLATION_UNREADABLE } from '../../../src/slack/app.js';
import { backends } from '../../support/databases.js';
import { multiWorkspaceBot } from '../../support/multi-workspace-bot.js';
import { waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('multi-workspace mode on $name', (backend) => {
  const t = multiWorkspaceBot(backend);
  const { install, membersOf, command } = t;

  it('tells the person, and logs an error, when the installation cannot be read (not "not installed")', async () => {
    await install({ user: 'UBEA', team: 'T0TWO' });
    await t.db.knex('installations').where({ install_key: 'T:T0TWO' }).update({ sealed: 'v1.AAAA.BBBB.CCCC' });
    const before = await membersOf('T0TWO');
    const since = t.running.logs.length;
    // A response URL slower than Slack's 3 seconds for the ack does not hold the ack back.
    t.standIn.responseUrlDelayMs = 3_500;
    const ack = await command('T0TWO', 'UBEA', 'remove <@UBEA>');
    expect(ack.status).toBe(200);
    expect(ack.raw).toBe('');
    const told = await waitFor(() => t.standIn.responseUrlPosts[0], 5_000, 'response_url answer');
    expect(told.body).toMatchObject({ response_type: 'ephemeral', text: INSTALLATION_UNREADABLE });
    expect(await membersOf('T0TWO')).toEqual(before);
    // A response URL that is not Slack's is not posted to (here: the stand-in under another origin).
    t.standIn.responseUrlDelayMs = 0;
    const elsewhere = t.standIn
      .responseUrl()
      .replace('127.0.0.1', 'localhost')
      .replace(/[^/]+$/, 'elsewhere');
    expect(new URL(elsewhere).origin).not.toBe(new URL(t.standIn.apiUrl).origin);
    await command('T0TWO', 'UBEA', 'whoami', { response_url: elsewhere });
    await command('T0TWO', 'UBEA', 'whoami');
    await waitFor(() => t.standIn.responseUrlPosts[1], 5_000, 'second response_url answer');
    expect(t.standIn.responseUrlPosts.map((p) => p.id)).not.toContain('elsewhere');
    const logged = await waitFor(
      () => {
        const lines = t.running.logs.slice(since).map((line) => JSON.parse(line) as { level: number; msg: string });
        return lines.some((l) => l.msg === 'request') ? lines : undefined;
      },
      5_000,
      'request line',
    );
    const errors = logged.filter((l) => l.level >= 50).map((l) => l.msg);
    expect(errors).toContain("the workspace's installation could not be read");
    expect(logged.map((l) => l.msg)).not.toContain('request from a workspace where the app is not installed; ignored');
  });
});
