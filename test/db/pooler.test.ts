// The app behind PgBouncer in pool_mode = transaction (DATABASE_POOLER=transaction), through the
// real pooler: each transaction carries the app's limits, a statement outside one runs under the
// role's default (checked at start), named prepared statements run unnamed, page limits are
// counted and the job queue works, maintenance included. `.ci/run` starts a PgBouncer and sets
// TEST_POOLER_URL for its pooler pass; without one these are skipped. Directly, the limits are
// the session's, as before.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase, openPostgres } from '../../src/db/database.js';
import { JobQueue } from '../../src/jobs/queue.js';
import { prepared } from '../../src/services/db.js';
import { RateCounts } from '../../src/services/rate-counts.js';
import { RATE_LIMIT_TABLE, sharedLimiter } from '../../src/web/rate-limit.js';
import { spawnBot } from '../support/bot-process.js';
import { capture } from '../support/captured-logger.js';
import { openPostgresTestDatabase, poolerUrl, postgresUrl, type TestDatabase } from '../support/databases.js';
import { waitFor } from '../support/slack-stand-in.js';

/** Short limits, so that a test waits for them in a second or two. */
const SHORT = { statementMs: 600, idleInTransactionMs: 1_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function failure(work: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await work;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected it to fail, and it succeeded');
}

describe.runIf(poolerUrl)('behind PgBouncer in transaction mode', () => {
  // No default for the database: what holds here is the app's own doing.
  let db: TestDatabase;
  const opened: Database[] = [];

  beforeAll(async () => {
    db = await openPostgresTestDatabase({ timeouts: SHORT, defaultStatementTimeoutMs: null, poolMax: 4 });
    expect(db.pooler).toBe('transaction');
    expect(new URL(db.url as string).port).toBe(new URL(poolerUrl as string).port);
  });
  afterAll(async () => {
    for (const other of opened.splice(0)) await other.close();
    await db?.close();
  });

  it('is a pooler in transaction mode: a named statement prepared by one client is there for the next', async () => {
    // Why the app names no statement there: two clients, one server session lent to each in turn.
    const name = `probe_${randomBytes(4).toString('hex')}`;
    const [one, two] = [new pg.Client(db.url as string), new pg.Client(db.url as string)];
    try {
      await one.connect();
      await two.connect();
      await one.query({ name, text: 'SELECT 1 AS n', values: [] });
      const collision = await failure(two.query({ name, text: 'SELECT 1 AS n', values: [] }));
      expect(collision.code).toBe('42P05'); // prepared statement already exists
    } finally {
      await Promise.all([one.end(), two.end()]);
    }
  });

  it('runs named prepared statements unnamed, from many connections at once', async () => {
    const name = `hot_${randomBytes(4).toString('hex')}`;
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) => prepared(db.knex, name, 'SELECT $1::int AS n', [i])),
      );
      expect(results.map(([row]) => row?.n)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    }
  });

  it('sets the limits in each transaction, and leaves none in the server session', async () => {
    const settings =
      "SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i";
    const inside = await db.knex.transaction(async (trx) => (await trx.raw(settings)).rows);
    expect(inside).toEqual([{ s: '600ms', i: '1s' }]);
    const serializable = await db.knex.transaction(async (trx) => (await trx.raw(settings)).rows, {
      isolationLevel: 'serializable',
    });
    expect(serializable).toEqual([{ s: '600ms', i: '1s' }]);
    // Outside a transaction, the session the pooler lends has the database's default: none here.
    expect((await db.knex.raw(settings)).rows).toEqual([{ s: '0', i: '0' }]);
  });

  it('cuts a long statement in a transaction', async () => {
    const started = Date.now();
    const err = await failure(db.knex.transaction((trx) => trx.raw('SELECT pg_sleep(5)')));
    expect(err.code).toBe('57014'); // canceled by statement_timeout (not the client's query_timeout)
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('ends a transaction left idle; its locks go, and the pool goes on', async () => {
    await db.knex.raw('CREATE TABLE idle_probe (id int PRIMARY KEY)');
    await db.knex('idle_probe').insert({ id: 1 });
    const err = await failure(
      db.knex.transaction(async (trx) => {
        await trx('idle_probe').where({ id: 1 }).forUpdate();
        await sleep(2_000);
        await trx('idle_probe').where({ id: 1 }).update({ id: 2 });
      }),
    );
    expect(err).toBeInstanceOf(Error);
    // The server ended it: the row is free, unchanged, and the pool hands out working connections.
    const row = await db.knex.transaction((trx) => trx('idle_probe').forUpdate().noWait().select('id'));
    expect(row).toEqual([{ id: 1 }]);
    expect((await db.knex.raw('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('counts page limits in the database, from two pools (the count is a named statement, sent unnamed)', async () => {
    const other = openPostgres(db.url as string, { pooler: 'transaction', poolMax: 2 });
    opened.push(other);
    const { logger, lines } = capture();
    const limiters = [db.knex, other.knex].map((knex) =>
      sharedLimiter(new RateCounts({ knex, now: () => new Date() }), logger, {
        name: 'probe',
        points: 3,
        durationSeconds: 60,
      }),
    );
    const admissions = [];
    for (let i = 0; i < 4; i++) admissions.push((await limiters[i % 2]?.take('k'))?.ok);
    expect(admissions).toEqual([true, true, true, false]);
    expect(lines.filter((l) => l.level === 40)).toEqual([]); // never fell back to counting in memory
    const [counted] = await db.knex(RATE_LIMIT_TABLE).where({ key: 'probe:k' }).pluck('points');
    expect(counted).toBe(4);
  });

  it('works jobs: sent inside a transaction and outside, each run once', async () => {
    const { logger, lines } = capture();
    const queue = new JobQueue(db.knex, logger, { pollingIntervalSeconds: 0.5 });
    try {
      await queue.start();
      const ran: number[] = [];
      const name = `pooled-${randomBytes(3).toString('hex')}`;
      await queue.work<{ n: number }>(name, async ({ n }) => void ran.push(n));
      await queue.send(name, { n: 1 });
      await db.knex.transaction((trx) => queue.send(name, { n: 2 }, {}, trx));
      await expect(
        db.knex.transaction(async (trx) => {
          await queue.send(name, { n: 3 }, {}, trx);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      await waitFor(() => ran.length >= 2, 10_000, 'both jobs to run');
      await sleep(1_000);
      expect(ran.sort()).toEqual([1, 2]);
    } finally {
      await queue.stop(1_000);
    }
    expect(lines.filter((l) => l.msg === 'job queue error')).toEqual([]);
  });

  it("hands back a job whose process died (pg-boss's maintenance, under its advisory lock)", async () => {
    const { logger, lines } = capture();
    const queue = new JobQueue(db.knex, logger, { pollingIntervalSeconds: 0.5, maintenanceIntervalSeconds: 1 });
    try {
      await queue.start();
      const ran: string[] = [];
      const name = `expiring-${randomBytes(3).toString('hex')}`;
      await queue.work<{ n: number }>(name, async (_, job) => void ran.push(job.id));
      // Fetched an hour ago by a process that is gone: active, long past its expiry.
      await db.knex.transaction(async (trx) => {
        await queue.send(name, { n: 1 }, {}, trx);
        await trx('pgboss.job')
          .where({ name })
          .update({
            state: 'active',
            started_on: db.knex.raw("now() - interval '1 hour'"),
            expire_in: db.knex.raw("interval '1 second'"),
            retry_delay: 0,
            retry_backoff: false,
          });
      });
      await waitFor(() => ran.length >= 1, 15_000, 'maintenance to hand the job back');
      const [job] = await db.knex('pgboss.job').where({ name }).select('retry_count');
      expect(job).toEqual({ retry_count: 1 });
    } finally {
      await queue.stop(1_000);
    }
    expect(lines.filter((l) => l.msg === 'job queue error')).toEqual([]);
  });

  it('refuses to start while the role has no statement timeout; starts, and cuts a statement, with one', async () => {
    const start = (database: TestDatabase) =>
      openDatabase({ databaseUrl: database.url as string, databasePooler: 'transaction', pgliteDataDir: '' });
    const refused = await failure(start(db));
    expect(refused.message).toContain(`statement_timeout is off for role postgres`);
    expect(refused.message).toContain(`ALTER ROLE "postgres" SET statement_timeout = '5s'`);

    const limited = await openPostgresTestDatabase({ defaultStatementTimeoutMs: 700 });
    try {
      const app = await start(limited);
      try {
        const started = Date.now();
        const err = await failure(app.knex.raw('SELECT pg_sleep(5)'));
        expect(err.code).toBe('57014');
        expect(Date.now() - started).toBeLessThan(3_000);
      } finally {
        await app.close();
      }
    } finally {
      await limited.close();
    }
  });
});

describe.runIf(poolerUrl)('the bot process behind PgBouncer', () => {
  it('will not start while its role has no statement timeout, and says what to run', async () => {
    const db = await openPostgresTestDatabase({ defaultStatementTimeoutMs: null });
    try {
      const started = await failure(
        spawnBot({
          NODE_ENV: 'development',
          DATABASE_URL: db.url as string,
          SLACK_BOT_TOKEN: 'xoxb-never-asked',
          SLACK_SIGNING_SECRET: 'x',
        }),
      );
      expect(started.message).toContain('the bot exited before serving');
      expect(started.message).toContain(`Run once: ALTER ROLE "postgres" SET statement_timeout = '5s'`);
    } finally {
      await db.close();
    }
  });
});

describe.runIf(postgresUrl && !poolerUrl)('straight to PostgreSQL', () => {
  it("sends the limits when connecting: they are the session's", async () => {
    const db = openPostgres(postgresUrl as string, { poolMax: 1 });
    try {
      const { rows } = await db.knex.raw(
        "SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i",
      );
      expect(rows).toEqual([{ s: '5s', i: '10s' }]);
    } finally {
      await db.close();
    }
  });
});
