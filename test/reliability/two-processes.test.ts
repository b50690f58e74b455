// Two real bot processes on one PostgreSQL database behave as one: admins demoting each other
// through both never leave the account without an AccountAdmin, and a Slack redelivery that
// reaches both creates one invite and sends one DM.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotProcess, spawnBot } from '../support/bot-process.js';
import { openPostgresTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { SIGNING_SECRET, SlackDriver } from '../support/slack-requests.js';
import { BOT_TOKEN, SlackStandIn, waitFor } from '../support/slack-stand-in.js';

const ROUNDS = 15;

describe.runIf(postgresUrl)('two processes on one PostgreSQL', () => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let one: BotProcess;
  let two: BotProcess;
  let slackOne: SlackDriver;
  let slackTwo: SlackDriver;
  let folders: string[];

  beforeAll(async () => {
    db = await openPostgresTestDatabase();
    standIn = await new SlackStandIn().start();
    for (const id of ['UADMINA', 'UADMINB', 'UCAROL1']) standIn.addUser({ id });
    // Each in a folder of its own, as on two machines; no REGISTRATION_LINK_SECRET (outside
    // production), so the link key must come from the database they share.
    folders = [0, 1].map(() => mkdtempSync(path.join(tmpdir(), 'chatbees-users-two-')));
    const env = {
      NODE_ENV: 'development',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: standIn.apiUrl,
      DATABASE_URL: db.url as string,
      PUBLIC_URL: 'https://bees.example.test',
      INITIAL_ADMINS: 'UADMINA,UADMINB',
    };
    // Started together, as a deployment would: migrations, the bootstrap and the key must not collide.
    const inFolder = (folder: string) => spawnBot({ ...env, PGLITE_DATA_DIR: path.join(folder, 'pglite') });
    [one, two] = await Promise.all([inFolder(folders[0] as string), inFolder(folders[1] as string)]);
    slackOne = new SlackDriver(one.url, () => standIn.responseUrl());
    slackTwo = new SlackDriver(two.url, () => standIn.responseUrl());
  });
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    await standIn?.stop();
    await db?.close();
    for (const folder of folders ?? []) rmSync(folder, { recursive: true, force: true });
  });

  const admins = async () =>
    (await db.knex('members').where({ status: 'active', role: 'AccountAdmin' }).pluck('slack_user_id')).sort();

  async function followUp(driver: SlackDriver, user: string, text: string): Promise<string> {
    const body = driver.commandBody(user, text);
    const ack = await driver.post(body.toString());
    // Refused at the door (the other admin's demotion landed first): the answer is the ack.
    if (typeof ack.json?.text === 'string' && ack.json.text.length > 0) return ack.json.text;
    const id = (body.get('response_url') as string).split('/').pop();
    const post = await waitFor(() => standIn.responseUrlPosts.find((p) => p.id === id), 10_000, `answer to ${text}`);
    return String(post.body.text);
  }

  it('both started on one database, with the initial admins made once', async () => {
    expect(await admins()).toEqual(['UADMINA', 'UADMINB']);
    const bootstrapped = await db.knex('audit_log').where({ action: 'member.bootstrapped' });
    expect(bootstrapped).toHaveLength(2);
    expect(await db.knex('accounts')).toHaveLength(1);
  });

  it(`admins demoting each other through both processes at once, ${ROUNDS} rounds: never zero admins`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await db.knex('members').whereIn('slack_user_id', ['UADMINA', 'UADMINB']).update({ role: 'AccountAdmin' });
      const [a, b] = await Promise.all([
        followUp(slackOne, 'UADMINA', 'role <@UADMINB> user'),
        followUp(slackTwo, 'UADMINB', 'role <@UADMINA> user'),
      ]);
      expect(await admins()).toHaveLength(1);
      const won = [a, b].filter((text) => /is now an \*AccountUser\*/.test(text));
      expect(won).toHaveLength(1);
    }
  });

  it('a redelivery reaching both processes creates one invite and one DM', async () => {
    await db.knex('members').whereIn('slack_user_id', ['UADMINA', 'UADMINB']).update({ role: 'AccountAdmin' });
    const body = slackOne.commandBody('UADMINA', 'invite <@UCAROL1>').toString();
    const [first, again] = await Promise.all([
      slackOne.post(body),
      slackTwo.post(body, { 'X-Slack-Retry-Num': '1', 'X-Slack-Retry-Reason': 'http_timeout' }),
    ]);
    expect([first.status, again.status]).toEqual([200, 200]);
    await waitFor(() => standIn.dmsTo('UCAROL1').length === 1, 10_000, 'the DM');
    // Both processes have handled the request once one of them logs that it ignored it.
    await waitFor(
      () => [...one.output, ...two.output].some((line) => line.includes('redelivered command ignored')),
      10_000,
      'the second delivery to be ignored',
    );
    expect(await db.knex('invites').where({ for_slack_user_id: 'UCAROL1' })).toHaveLength(1);
    expect(standIn.dmsTo('UCAROL1')).toHaveLength(1);

    // One key for both, kept in the database, none in their folders: the link opens on either.
    const link = /https:\/\/bees\.example\.test(\/register\/[^\s"<>|]+)/.exec(
      JSON.stringify(standIn.dmsTo('UCAROL1')[0]?.params),
    )?.[1];
    expect(link).toBeDefined();
    for (const bot of [one, two]) {
      const page = await fetch(`${bot.url}${link}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Confirm');
    }
    expect(await db.knex('app_settings').where({ key: 'registration_link_secret' })).toHaveLength(1);
    for (const folder of folders) expect(existsSync(path.join(folder, 'registration-link-secret'))).toBe(false);
  });
});
