// Every request is logged once, with an id, the team, user, command and outcome; and at debug
// level (where the Web API client logs request bodies) no secret, bot token, registration
// token or link appears anywhere in the output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBot, startTestBot } from '../support/bot.js';
import { openPgliteTestDatabase, type TestDatabase } from '../support/databases.js';
import { LINK_SECRET } from '../support/fixtures.js';
import { SIGNING_SECRET } from '../support/slack-requests.js';
import { BOT_TOKEN, SlackStandIn, TEAM_ID, waitFor } from '../support/slack-stand-in.js';

type Line = Record<string, unknown> & { msg?: string; level: number };

describe('request logs', () => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let running: RunningBot;
  const tokens: string[] = [];

  beforeAll(async () => {
    db = await openPgliteTestDatabase();
    standIn = await new SlackStandIn().start();
    standIn.addUser({ id: 'UADMIN1' });
    standIn.addUser({ id: 'UBOB001' });
    standIn.addUser({ id: 'UCAROL1' });
    running = await startTestBot({ db, standIn, env: { INITIAL_ADMINS: 'UADMIN1', LOG_LEVEL: 'debug' } });

    // The flows: commands, a refusal, invitations, a registration, a dead link.
    await running.slack.command('UADMIN1', 'help');
    await running.slack.command('UBOB001', 'list');
    await running.slack.command('UADMIN1', 'invite <@UBOB001> <@UCAROL1>');
    await waitFor(() => standIn.dmsTo('UBOB001').length === 1 && standIn.dmsTo('UCAROL1').length === 1);
    standIn.fail('chat.postMessage', { error: 'channel_not_found' });
    await running.slack.command('UADMIN1', 'invite <@UCAROL1>'); // DM fails: the link goes to the admin
    await waitFor(() => standIn.responseUrlPosts.length >= 2);
    for (const dm of [...standIn.dmsTo('UBOB001'), ...standIn.dmsTo('UCAROL1')]) {
      const url = /<(https:\/\/[^|>]+\/register\/[^|>]+)\|/.exec(String(dm.params.text))?.[1];
      if (url) tokens.push(url.split('/register/')[1] as string);
    }
    for (const post of standIn.responseUrlPosts) {
      const url = /<(https:\/\/[^|>]+\/register\/[^|>]+)\|/.exec(String(post.body.text))?.[1];
      if (url) tokens.push(url.split('/register/')[1] as string);
    }
    const path = `/register/${tokens[0]}`;
    const page = await fetch(`${running.url}${path}`);
    const html = await page.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    await fetch(`${running.url}${path}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Cookie: page.headers.get('set-cookie')?.split(';')[0] ?? '',
      },
      body: new URLSearchParams({ csrf }).toString(),
    });
    await fetch(`${running.url}/register/not-a-token`);
    const role = running.slack.commandBody('UADMIN1', 'role <@UBOB001> admin').toString();
    await running.slack.post(role);
    await waitFor(() => standIn.dmsTo('UBOB001').length >= 3); // invitation, welcome, role change
    // Once the first delivery's work is all done (its line written), Slack delivers the same
    // command again: its request says so in a line of its own.
    await waitFor(() => running.logs.join('').split('"slack request"').length - 1 === 5, 5_000, 'five lines');
    await running.slack.post(role, { 'X-Slack-Retry-Num': '1', 'X-Slack-Retry-Reason': 'http_timeout' });
  });
  afterAll(async () => {
    await running?.stop();
    await standIn?.stop();
    await db?.close();
  });

  const lines = (): Line[] =>
    running.logs
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);

  it('logs each Slack request once, with request id, team, user, command and outcome, at info', async () => {
    await waitFor(
      () => lines().filter((l) => l.msg === 'slack request').length === 6,
      5_000,
      'six slack request lines',
    );
    const slack = lines().filter((l) => l.msg === 'slack request');
    expect(slack.map((l) => [l.user, l.name, l.outcome])).toEqual([
      ['UADMIN1', 'help', 'ok'],
      ['UBOB001', 'list', 'refused:not_member'],
      ['UADMIN1', 'invite', 'ok'],
      ['UADMIN1', 'invite', 'ok'],
      ['UADMIN1', 'role', 'ok'],
      ['UADMIN1', 'role', 'redelivery_ignored'],
    ]);
    for (const line of slack) {
      expect(line).toMatchObject({ level: 30, team: TEAM_ID, kind: 'command' });
      expect(line.reqId).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
      expect(typeof line.ms).toBe('number');
    }
    expect(new Set(slack.map((l) => l.reqId)).size).toBe(6);
  });

  it('logs each page request once, by route, never by path', () => {
    const pages = lines().filter((l) => l.msg === 'request' && l.route === 'registration page');
    expect(pages.map((l) => [l.method, l.status, l.outcome])).toEqual([
      ['GET', 200, undefined],
      ['POST', 200, 'registered'],
      ['GET', 404, 'refused:invite_unknown'],
    ]);
  });

  it("names the request in the lines its handling writes (the request's record travels in Bolt's context)", () => {
    const redelivered = lines().find((l) => l.msg === 'slack request' && l.outcome === 'redelivery_ignored');
    const said = lines().filter((l) => l.msg === 'redelivered command ignored');
    expect(said).toHaveLength(1);
    expect(said[0]?.reqId).toBe(redelivered?.reqId);
  });

  it('never writes a secret, a bot token, a registration token or link, at any level', () => {
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    const text = running.logs.join('');
    expect(lines().some((l) => l.level === 20)).toBe(true); // debug lines were written
    for (const secret of [SIGNING_SECRET, BOT_TOKEN, LINK_SECRET, ...tokens]) {
      expect(text).not.toContain(secret);
    }
    for (const token of tokens) expect(text).not.toContain(token.split('.')[2] as string);
    expect(text).not.toMatch(/\/register\/ey/);
    expect(text).not.toMatch(/xoxb-/);
  });
});
