// The durable job queue (pg-boss on the app's database), as the app uses it: on each backend,
// across a stop and a start, and with two processes' queues on one PostgreSQL.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, RetryAt } from '../../src/jobs/queue.js';
import { capture } from '../support/captured-logger.js';
import { backends, openPostgresTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { waitFor } from '../support/slack-stand-in.js';
import { recordStatements } from '../support/statements.js';

const FAST = { pollingIntervalSeconds: 0.5 };
let counter = 0;
const queueName = () => `test-${process.pid}-${++counter}`;

describe.each(backends)('the job queue on $name', (backend) => {
  let db: TestDatabase;
  const queues: JobQueue[] = [];
  const open = (logger = capture().logger) => {
    const queue = new JobQueue(db.knex, logger, FAST);
    queues.push(queue);
    return queue;
  };

  beforeAll(async () => {
    db = await backend.open();
  });
  afterEach(async () => {
    for (const queue of queues.splice(0)) await queue.stop(1_000);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('runs a job once, when it is due', async () => {
    const queue = open();
    await queue.start();
    const name = queueName();
    const ran: Array<{ at: number; data: unknown }> = [];
    await queue.work<{ n: number }>(name, async (data) => void ran.push({ at: Date.now(), data }));
    const sent = Date.now();
    await queue.send(name, { n: 1 }, { startAfter: new Date(sent + 1_500) });
    await waitFor(() => ran.length > 0, 10_000, 'the job to run');
    expect(ran[0]?.data).toEqual({ n: 1 });
    expect((ran[0]?.at ?? 0) - sent).toBeGreaterThanOrEqual(1_400);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(ran).toHaveLength(1);
  });

  it('runs a job that came due while the app was stopped, once, after the next start', async () => {
    const name = queueName();
    const first = open();
    await first.start();
    await first.send(name, { reminder: 'x' }, { startAfter: new Date(Date.now() + 1_000) });
    await first.stop(1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const ran: unknown[] = [];
    const second = open();
    await second.start();
    await second.work(name, async (data) => void ran.push(data));
    await waitFor(() => ran.length > 0, 10_000, 'the overdue job to run');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(ran).toEqual([{ reminder: 'x' }]);
  });

  it('retries a failing job, and says in the log when it failed for good', async () => {
    const { logger, lines } = capture();
    const queue = open(logger);
    await queue.start();
    const name = queueName();
    const attempts: number[] = [];
    await queue.work(name, async (_data, job) => {
      attempts.push(job.attempt);
      throw new Error('Slack answered HTTP 500');
    });
    await queue.send(name, {}, { retryLimit: 1, retryDelay: 1 });
    await waitFor(() => lines.some((l) => l.msg === 'job failed for good'), 15_000, 'the last failure');
    expect(attempts).toEqual([1, 2]);
    expect(lines.filter((l) => l.msg === 'job failed; it will be retried')).toHaveLength(1);
    expect(lines.find((l) => l.msg === 'job failed for good')).toMatchObject({ job: name, attempt: 2, level: 50 });
  });

  it('reschedules a job for when Slack said to come back, without counting a failure', async () => {
    const { logger, lines } = capture();
    const queue = open(logger);
    await queue.start();
    const name = queueName();
    const runs: number[] = [];
    await queue.work(name, async () => {
      runs.push(Date.now());
      if (runs.length === 1) throw new RetryAt(new Date(Date.now() + 1_500));
    });
    await queue.send(name, {}, { retryLimit: 0 });
    await waitFor(() => runs.length === 2, 10_000, 'the rescheduled run');
    expect((runs[1] ?? 0) - (runs[0] ?? 0)).toBeGreaterThanOrEqual(1_400);
    expect(lines.some((l) => String(l.msg).startsWith('job failed'))).toBe(false);
  });

  it('on a graceful stop, finishes a job in flight, or hands it back to run again after the next start', async () => {
    const name = queueName();
    const first = open();
    await first.start();
    const started: string[] = [];
    const finished: string[] = [];
    await first.work<{ k: string }>(name, async ({ k }) => {
      started.push(k);
      await new Promise((resolve) => setTimeout(resolve, k === 'slow' ? 4_000 : 200));
      finished.push(k);
    });
    await first.send(name, { k: 'quick' });
    await first.send(name, { k: 'slow' });
    await waitFor(() => started.length === 2, 10_000, 'both jobs started');
    await first.stop(1_500);
    expect(finished).toContain('quick');
    expect(finished).not.toContain('slow');

    // Handed back: it runs again (pg-boss retries a job a stop interrupted).
    const again: string[] = [];
    const second = open();
    await second.start();
    await second.work<{ k: string }>(name, async ({ k }) => void again.push(k));
    await waitFor(() => again.includes('slow'), 15_000, 'the interrupted job to run again');
    expect(again).not.toContain('quick');
  });

  it('asks for jobs about once per queue and interval, the asks spread over it, not in a burst', async () => {
    const recorded = recordStatements(db.knex);
    try {
      const queue = open();
      await queue.start();
      const names = Array.from({ length: 6 }, queueName);
      for (const name of names) await queue.work(name, async () => {});
      // Every worker has started (each within one interval): watch two intervals.
      await new Promise((resolve) => setTimeout(resolve, 700));
      const from = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // pg-boss's fetch: "WITH next as (SELECT … FOR UPDATE SKIP LOCKED) UPDATE …".
      const seen = recorded.statements
        .filter((s) => /^\s*WITH next as/.test(s.text) && s.text.includes('SKIP LOCKED'))
        .map((s) => s.sent)
        .filter((at) => at >= from && at < from + 1_000);
      // Six queues of two workers: six first workers twice, a spare now and then (every 2.5 s);
      // pg-boss alone would ask 24 times, twelve at once.
      expect(seen.length).toBeGreaterThanOrEqual(10);
      expect(seen.length).toBeLessThanOrEqual(18);
      const crowd = Math.max(...seen.map((at) => seen.filter((b) => b >= at && b < at + 40).length));
      expect(crowd).toBeLessThanOrEqual(4);
    } finally {
      recorded.stop();
    }
  });

  it("starts a queue's second job at once while the first runs, not at the second worker's next ask", async () => {
    const queue = open();
    await queue.start();
    const name = queueName();
    const started: Array<{ k: string; at: number }> = [];
    await queue.work<{ k: string }>(name, async ({ k }) => {
      started.push({ k, at: performance.now() });
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    });
    // Both workers have made their first ask (the second 0.31 s in); its next is 2.5 s later.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const sent = performance.now();
    await queue.send(name, { k: 'a' });
    await queue.send(name, { k: 'b' });
    await waitFor(() => started.length === 2, 10_000, 'both jobs started');
    // The first worker's next ask within 0.5 s, and the second woken by it: both well before the
    // second worker's own next ask (1.8 s or more after the sends).
    expect(Math.max(...started.map((s) => s.at)) - sent).toBeLessThan(1_200);
  });

  it('keeps a job sent in a transaction only if the transaction commits', async () => {
    const queue = open();
    await queue.start();
    const name = queueName();
    const ran: unknown[] = [];
    await queue.work(name, async (data) => void ran.push(data));
    await db.knex
      .transaction(async (trx) => {
        await queue.send(name, { kept: false }, {}, trx);
        throw new Error('rolled back');
      })
      .catch(() => {});
    await db.knex.transaction(async (trx) => {
      await queue.send(name, { kept: true }, {}, trx);
    });
    await waitFor(() => ran.length > 0, 10_000, 'the committed job');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(ran).toEqual([{ kept: true }]);
  });
});

describe.runIf(postgresUrl)('two processes on one PostgreSQL', () => {
  let db: TestDatabase;
  let other: TestDatabase;
  const queues: JobQueue[] = [];

  beforeAll(async () => {
    db = await openPostgresTestDatabase();
    // The second "process": its own pool on the same database.
    other = Object.assign(
      await import('../../src/db/database.js').then((m) => m.openPostgres(db.url as string, { pooler: db.pooler })),
      { url: db.url, pooler: db.pooler },
    );
  });
  afterAll(async () => {
    for (const queue of queues) await queue.stop(1_000);
    await other?.close();
    await db?.close();
  });

  it('runs each job once, whichever process fetches it', async () => {
    const name = queueName();
    const ran: number[] = [];
    for (const database of [db, other]) {
      const queue = new JobQueue(database.knex, capture().logger, FAST);
      queues.push(queue);
      await queue.start();
      await queue.work<{ n: number }>(name, async ({ n }) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        ran.push(n);
      });
    }
    for (let n = 0; n < 30; n++) await queues[n % 2]?.send(name, { n });
    await waitFor(() => ran.length >= 30, 20_000, 'every job to run');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect([...ran].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, n) => n));
  });
});
