// Limits that hold across processes: two real bot processes on one PostgreSQL database count a
// client's page requests together, and a Sign in with Slack state used in one is refused in the
// other before Slack is asked anything.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotProcess, spawnBot } from '../support/bot-process.js';
import { openPostgresTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { PageSession, pathOf } from '../support/page-session.js';
import { SIGNING_SECRET, SlackDriver } from '../support/slack-requests.js';
import { BOT_TOKEN, CLIENT_ID, CLIENT_SECRET, SlackStandIn } from '../support/slack-stand-in.js';

const PER_ADDRESS = 6;

describe.runIf(postgresUrl)('limits shared by two processes on one PostgreSQL', () => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let one: BotProcess;
  let two: BotProcess;
  let folders: string[];

  beforeAll(async () => {
    db = await openPostgresTestDatabase();
    standIn = await new SlackStandIn().start();
    for (const id of ['UADMINA', 'UNEW1']) standIn.addUser({ id });
    folders = [0, 1].map(() => mkdtempSync(path.join(tmpdir(), 'chatbees-users-limits-')));
    const env = (folder: string) => ({
      NODE_ENV: 'development',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: standIn.apiUrl,
      SLACK_CLIENT_ID: CLIENT_ID,
      SLACK_CLIENT_SECRET: CLIENT_SECRET,
      DATABASE_URL: db.url as string,
      PUBLIC_URL: 'https://bees.example.test',
      INITIAL_ADMINS: 'UADMINA',
      TRUST_PROXY: '1',
      RATE_LIMIT_PER_ADDRESS: String(PER_ADDRESS),
      RATE_LIMIT_PER_LINK: '0',
      PGLITE_DATA_DIR: path.join(folder, 'pglite'),
    });
    [one, two] = await Promise.all([spawnBot(env(folders[0] as string)), spawnBot(env(folders[1] as string))]);
  });
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    await standIn?.stop();
    await db?.close();
    for (const folder of folders ?? []) rmSync(folder, { recursive: true, force: true });
  });

  const from = (address: string) => ({ headers: { 'X-Forwarded-For': address } });

  it('counts one client address across both processes, the sign-in return included', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < PER_ADDRESS; i++) {
      const bot = i % 2 === 0 ? one : two;
      const page = i < 2 ? `/register/signed-in?code=made-up-${i}&state=x` : `/register/guess-${i}`;
      statuses.push((await fetch(`${bot.url}${page}`, from('203.0.113.7'))).status);
    }
    expect(statuses).toEqual([400, 400, 404, 404, 404, 404]);
    for (const bot of [one, two]) {
      const refused = await fetch(`${bot.url}/register/signed-in?code=another&state=x`, from('203.0.113.7'));
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Another client is not affected.
    expect((await fetch(`${one.url}/register/guess`, from('198.51.100.9'))).status).toBe(404);
    expect(standIn.callsTo('openid.connect.token')).toEqual([]);
  });

  it('takes a sign-in state once, in any process, before Slack is asked', async () => {
    const slack = new SlackDriver(one.url, () => standIn.responseUrl());
    const answer = String((await slack.command('UADMINA', 'invite link')).json?.text);
    const link = pathOf(/<(https:\/\/bees\.example\.test\/register\/[^|>]+)\|/.exec(answer)?.[1] as string);

    const browser = new PageSession(one.url, from('192.0.2.10'));
    const toSlack = await browser.continueWithSlack((await browser.go(link)).html);
    expect(toSlack.status).toBe(303);
    const back = pathOf(await standIn.signIn(toSlack.location, { user: 'UNEW1' }));
    // Someone holding a copy of the state cookie, as it was before the way back.
    const captured = browser.copy();
    // Back from Slack through the other process: the state is good, once.
    expect((await browser.on(two.url).go(back)).status).toBe(303);
    const exchanges = standIn.callsTo('openid.connect.token').length;
    expect(exchanges).toBe(1);

    // The same return again, in either process, and with made-up codes on the captured state:
    // 400, and Slack is not asked.
    const state = new URL(back, 'http://x').searchParams.get('state') as string;
    const replays = [
      back,
      `/register/signed-in?code=made-up-1&state=${state}`,
      `/register/signed-in?code=2&state=${state}`,
    ];
    for (const [i, replay] of replays.entries()) {
      const again = await captured.on(i % 2 ? one.url : two.url).go(replay, from(`192.0.2.${20 + i}`));
      expect(again.status, replay).toBe(400);
      expect(again.html).toContain('Sign-in did not work');
    }
    expect(standIn.callsTo('openid.connect.token')).toHaveLength(exchanges);
  });
});
