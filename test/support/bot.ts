// The real bot (Bolt over HTTP, real services and database) on a free port, talking to a
// Slack stand-in; its logs captured.

import { createServer } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { type Bot, createBot } from '../../src/app.js';
import { type Config, loadConfig, secretValues } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { Account } from '../../src/services/types.js';
import type { TestDatabase } from './databases.js';
import { insertMembers, LINK_SECRET } from './fixtures.js';
import { SIGNING_SECRET, SlackDriver } from './slack-requests.js';
import { BOT_TOKEN, type SlackStandIn, SlackStandIn as StandIn, waitFor } from './slack-stand-in.js';

export const PUBLIC_URL = 'https://bees.example.test';

/** A port nobody listens on right now, to know a bot's URL (PUBLIC_URL) before it starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface RunningBot {
  bot: Bot;
  /** The workspace's account (single-workspace mode); throws in multi-workspace mode. */
  readonly account: Account;
  config: Config;
  url: string;
  slack: SlackDriver;
  logs: string[];
  stop(): Promise<void>;
}

export async function startTestBot(options: {
  db: TestDatabase;
  standIn: SlackStandIn;
  /** Environment on top of the tests' own; a variable set to undefined is left unset. */
  env?: Record<string, string | undefined>;
  now?: () => Date;
  /** Listen on this port instead of a free one (e.g. one from `freePort()`, with PUBLIC_URL on it). */
  port?: number;
}): Promise<RunningBot> {
  const env: Record<string, string | undefined> = {
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_API_URL: options.standIn.apiUrl,
    PUBLIC_URL,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'debug',
    // Tests make many page requests from one address at once.
    RATE_LIMIT_PER_ADDRESS: '0',
    RATE_LIMIT_PER_LINK: '0',
    ...options.env,
  };
  const config = loadConfig(
    Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
  );
  const logs: string[] = [];
  const logger = createLogger({
    level: config.logLevel,
    secrets: [LINK_SECRET, ...secretValues(config)],
    destination: { write: (line: string) => void logs.push(line) },
  });
  const bot = await createBot({
    config,
    logger,
    db: options.db,
    linkSecret: LINK_SECRET,
    now: options.now,
  });
  const port = await bot.listen(options.port ?? 0);
  const url = `http://127.0.0.1:${port}`;
  return {
    bot,
    get account() {
      if (!bot.account) throw new Error('a multi-workspace bot has no single account');
      return bot.account;
    },
    config,
    url,
    slack: new SlackDriver(url, () => options.standIn.responseUrl()),
    logs,
    stop: () => bot.stop(1_000),
  };
}

/**
 * Between tests on one running bot: empties the account (members, invites, audit log, request
 * claims), adds `members`, and forgets the stand-in's recorded calls and faults.
 */
export async function resetAccount(
  running: RunningBot,
  db: TestDatabase,
  standIn: SlackStandIn,
  members: Parameters<typeof insertMembers>[2],
): Promise<void> {
  for (const table of ['slack_request_claims', 'slack_deactivations', 'audit_log', 'invites', 'members']) {
    await db.knex(table).del();
  }
  await insertMembers(db.knex, running.account, members);
  standIn.reset();
}

/**
 * Waits until the bot has logged `count` finished Slack requests named `name` (a subcommand,
 * action id or event type) after log line `since`. Events are acked before they are handled: a 200
 * proves nothing.
 */
export async function handled(running: RunningBot, name: string, count: number, since = 0): Promise<void> {
  const done = () =>
    running.logs.slice(since).filter((line) => {
      const record = JSON.parse(line) as { msg?: string; name?: string };
      return record.msg === 'slack request' && record.name === name;
    }).length >= count;
  await waitFor(done, 5_000, `${count} handled ${name}`);
}

export interface BotUnderTest {
  db: TestDatabase;
  standIn: SlackStandIn;
  running: RunningBot;
}

/**
 * One bot for a describe block: a database from `open`, a Web API stand-in knowing `users`, and
 * the bot on both, started before the tests and stopped after them.
 */
export function botUnderTest(
  open: () => Promise<TestDatabase>,
  options: { users: string[]; env?: Record<string, string> },
): BotUnderTest {
  const t = {} as BotUnderTest;
  beforeAll(async () => {
    t.db = await open();
    t.standIn = await new StandIn().start();
    for (const id of options.users) t.standIn.addUser({ id });
    t.running = await startTestBot({ db: t.db, standIn: t.standIn, env: options.env });
  });
  afterAll(async () => {
    await t.running?.stop();
    await t.standIn?.stop();
    await t.db?.close();
  });
  return t;
}
