// SIGTERM/SIGINT: stop taking requests, finish those in flight (including the work a command
// does after its ack), close the database (PGlite cleanly, lock released), exit 0 within 10 s.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/db/database.js';
import { type BotProcess, spawnBot } from '../support/bot-process.js';
import { openPostgresTestDatabase, poolerClients, postgresUrl, type TestDatabase } from '../support/databases.js';
import { SIGNING_SECRET, SlackDriver } from '../support/slack-requests.js';
import { BOT_TOKEN, SlackStandIn, waitFor } from '../support/slack-stand-in.js';

describe('graceful stop', () => {
  let standIn: SlackStandIn;
  let dir: string;
  let bot: BotProcess | undefined;
  let counter = 0;

  beforeAll(async () => {
    standIn = await new SlackStandIn().start();
    standIn.addUser({ id: 'UADMIN1' });
    dir = mkdtempSync(path.join(tmpdir(), 'chatbees-users-stop-'));
  });
  afterEach(async () => {
    await bot?.stop('SIGKILL');
    bot = undefined;
  });
  afterAll(async () => {
    await standIn?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function env(database: Record<string, string>) {
    return {
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: standIn.apiUrl,
      PUBLIC_URL: 'https://bees.example.test',
      REGISTRATION_LINK_SECRET: 'graceful-stop-test-link-secret-0123456789abcdef',
      INITIAL_ADMINS: 'UADMIN1',
      ...database,
    };
  }

  /** Starts an invite whose DM Slack answers slowly, then signals while it is in flight. */
  async function stopDuringInvite(running: BotProcess, signal: NodeJS.Signals) {
    counter += 1;
    const invitee = `USTOP${String(counter).padStart(4, '0')}`;
    standIn.addUser({ id: invitee });
    standIn.fail('chat.postMessage', { delayMs: 2_500 });
    const slack = new SlackDriver(running.url, () => standIn.responseUrl());
    const body = slack.commandBody('UADMIN1', `invite <@${invitee}>`);
    const ack = await slack.post(body.toString());
    expect(ack.status).toBe(200);
    await waitFor(
      () => standIn.callsTo('chat.postMessage').some((c) => c.params.channel === `D${invitee.slice(1)}`),
      5_000,
    );
    const signalled = Date.now();
    running.child.kill(signal);
    // Stopped taking requests: a new connection is refused (or told it is shutting down).
    await waitFor(
      async () => {
        try {
          return (await fetch(`${running.url}/healthz`, { headers: { Connection: 'close' } })).status === 503;
        } catch {
          return true;
        }
      },
      2_000,
      'new requests to be turned away',
    );
    const exit = await running.exited;
    const id = (body.get('response_url') as string).split('/').pop();
    return {
      invitee,
      exit,
      stoppedMs: Date.now() - signalled,
      answer: standIn.responseUrlPosts.find((p) => p.id === id),
    };
  }

  it('on PGlite: finishes the invite in flight, closes the database cleanly, exits 0 within 10 s', async () => {
    const dataDir = path.join(dir, 'pglite');
    bot = await spawnBot(env({ PGLITE_DATA_DIR: dataDir }), 60_000);
    const { invitee, exit, stoppedMs, answer } = await stopDuringInvite(bot, 'SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(stoppedMs).toBeLessThan(10_000);
    expect(String(answer?.body.text)).toContain(`:white_check_mark: <@${invitee}> — invited`);
    expect(bot.output.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
    // The data directory opens again, with the invite in it.
    const reopened = await openPglite(dataDir);
    try {
      expect(await reopened.knex('invites').where({ for_slack_user_id: invitee })).toHaveLength(1);
    } finally {
      await reopened.close();
    }
  }, 90_000);

  it('on SIGINT too', async () => {
    bot = await spawnBot(env({ PGLITE_DATA_DIR: path.join(dir, 'pglite') }), 60_000);
    const { exit, stoppedMs, answer } = await stopDuringInvite(bot, 'SIGINT');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(stoppedMs).toBeLessThan(10_000);
    expect(answer).toBeDefined();
  }, 90_000);

  it.runIf(postgresUrl)(
    'on PostgreSQL: finishes the invite in flight, closes the pool, exits 0 within 10 s',
    async () => {
      const db: TestDatabase = await openPostgresTestDatabase();
      try {
        // Sessions on the database other than the one asking: the bot's pool. Through a pooler,
        // the pooler's clients of the database (this test connects to it no other way).
        const others = async () =>
          db.pooler === 'transaction'
            ? poolerClients(db.url as string)
            : Number(
                (
                  await db.knex.raw(
                    'select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
                  )
                ).rows[0].n,
              );
        bot = await spawnBot(env({ DATABASE_URL: db.url as string }));
        expect(await others()).toBeGreaterThan(0);
        const { invitee, exit, stoppedMs, answer } = await stopDuringInvite(bot, 'SIGTERM');
        expect(exit).toEqual({ code: 0, signal: null });
        expect(stoppedMs).toBeLessThan(10_000);
        expect(String(answer?.body.text)).toContain(`<@${invitee}> — invited`);
        await waitFor(async () => (await others()) === 0, 5_000, "the bot's connections to close");
      } finally {
        await db.close();
      }
    },
  );
});
