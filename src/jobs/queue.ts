// The durable job queue: pg-boss 10 on the app's own database (PostgreSQL or the embedded
// PGlite), through the app's Knex pool. Jobs survive restarts; with several processes on one
// database each job is fetched by one of them (SKIP LOCKED); failures retry with back-off; a
// rate-limited Slack call reschedules its job for when Slack said to come back.
import type { Knex } from 'knex';
import PgBoss from 'pg-boss';
import { QUEUE_SCHEMA } from '../../migrations/20261201_010_job_queue.js';
import type { Logger } from '../logger.js';
import type { Db } from '../services/db.js';
import { JOB, type JobName, type Jobs } from '../services/jobs.js';

type Row = Record<string, unknown>;

/**
 * pg-boss's way into a database: SQL with $1, $2 … placeholders. Once the queue stopped it
 * touches the database no more: pg-boss 10 completes or fails a job without awaiting it, so a
 * job that ends after the stop would otherwise reach a closed pool in a promise nobody handles
 * (the job is handed back by pg-boss's expiry and runs again).
 */
function executorFor(knex: Knex, stopped: () => boolean): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[] = []) {
      // No rows at all (not an empty list): pg-boss then counts nothing affected.
      if (stopped()) return { rows: undefined as unknown as Row[] };
      const client = knex.client as {
        acquireConnection(): Promise<{ query(text: string, values?: unknown[]): Promise<{ rows: Row[] }> }>;
        releaseConnection(connection: unknown): Promise<void>;
      };
      const connection = await client.acquireConnection();
      try {
        return await connection.query(text, values.length ? values : undefined);
      } catch (err) {
        // pg-boss sends some work as one "BEGIN; …; COMMIT;" string: a statement that failed
        // leaves its transaction open, and the pooled connection must not go back like that.
        await connection.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        await client.releaseConnection(connection);
      }
    },
  };
}

/**
 * The same, inside one of the app's transactions: a job sent this way exists only if the
 * transaction commits. Knex takes `?` placeholders: each $n becomes one, in order.
 */
export function inTransactionExecutor(trx: Knex.Transaction): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[] = []) {
      const bindings: unknown[] = [];
      const sql = text.replace(/\?/g, '\\?').replace(/\$(\d+)/g, (_, n: string) => {
        bindings.push(values[Number(n) - 1]);
        return '?';
      });
      const result = (await trx.raw(sql, bindings as Knex.RawBinding[])) as { rows: Row[] };
      return { rows: result.rows };
    },
  };
}

/** Thrown by a job's work to have it run again at a given time, without counting as a failure. */
export class RetryAt extends Error {
  constructor(readonly when: Date) {
    super(`retry at ${when.toISOString()}`);
  }
}

export interface JobOptions {
  /** When the job may run; now when absent. */
  startAfter?: Date;
  /** At most one job of this name and key waiting at a time (a second send is dropped). */
  singletonKey?: string;
  /** Attempts after the first (default 5), spaced by `retryDelay` seconds doubling each time. */
  retryLimit?: number;
  retryDelay?: number;
}

export type JobWork<T> = (data: T, job: { id: string; attempt: number }) => Promise<void>;

export interface QueueSettings {
  /** How often an idle worker asks for jobs (pg-boss polls; it holds no LISTEN connection). */
  pollingIntervalSeconds?: number;
  /** How often expired jobs are handed back and old ones archived (pg-boss's default unless said). */
  maintenanceIntervalSeconds?: number;
}

const DEFAULT_RETRY = { retryLimit: 5, retryDelay: 5, retryBackoff: true };

/** Jobs of one queue a process runs at once. */
const WORKERS_PER_QUEUE = 2;
/**
 * A queue's first worker asks for jobs every polling interval; the others this many times less
 * often, and at once when a sibling has found a job (there may be more: a backlog is worked by
 * all of them). Idle, a process asks about once per queue and interval, not once per worker.
 */
const SPARE_POLL_FACTOR = 5;
/** Spreads the workers' first asks over the interval: 0.618… (the golden ratio's) apart. */
const SPREAD = (Math.sqrt(5) - 1) / 2;

export class JobQueue implements Jobs {
  private readonly boss: PgBoss;
  private readonly names = new Set<string>();
  private started = false;
  private stopped = false;
  /** Workers registered so far (their first asks are spread by it), and those yet to start. */
  private workers = 0;
  private readonly starting = new Set<NodeJS.Timeout>();
  /** The jobs this process is running, for a stop to wait for. */
  private readonly running = new Set<Promise<void>>();
  private readonly sender: PgBoss.Db;

  constructor(
    knex: Knex,
    private readonly logger: Logger,
    private readonly settings: QueueSettings = {},
  ) {
    this.sender = executorFor(knex, () => false);
    this.boss = new PgBoss({
      db: executorFor(knex, () => this.stopped),

      schema: QUEUE_SCHEMA,
      // The schema is the app's migrations' business (migrations/…_010_job_queue.ts).
      migrate: false,
      // Expired and stale jobs are handed back, old ones archived; pg-boss's own advisory lock
      // keeps this to one process at a time.
      supervise: true,
      schedule: true,
      pollingIntervalSeconds: settings.pollingIntervalSeconds ?? 2,
      ...(settings.maintenanceIntervalSeconds && { maintenanceIntervalSeconds: settings.maintenanceIntervalSeconds }),
      ...DEFAULT_RETRY,
    });
    this.boss.on('error', (err: Error) => logger.warn({ error: err.message }, 'job queue error'));
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.stopped = false;
    await this.boss.start();
    // The domain's queues exist before any request can send to them from inside a transaction.
    for (const name of Object.values(JOB)) await this.ensureQueue(name);
    this.started = true;
  }

  /**
   * Registers the work for jobs named `name` in this process (creating the queue if new). Each
   * worker starts asking a fraction of the interval after the one before (`SPREAD`): pg-boss
   * keeps a worker's pace from its first ask, and workers started together asked together for
   * good, a burst of a dozen statements every interval that held up the requests answered then.
   */
  async work<T extends object>(name: string, work: JobWork<T>, concurrency = WORKERS_PER_QUEUE): Promise<void> {
    await this.ensureQueue(name);
    const interval = this.settings.pollingIntervalSeconds ?? 2;
    const ids: string[] = [];
    for (let i = 0; i < concurrency; i++) {
      let id: string | undefined;
      const register = async () => {
        if (!this.started) return;
        id = await this.boss.work<T>(
          name,
          { includeMetadata: true, pollingIntervalSeconds: i === 0 ? interval : interval * SPARE_POLL_FACTOR },
          async ([job]) => {
            if (!job) return;
            // The others ask now, for the jobs behind this one.
            for (const other of ids) if (other !== id) this.boss.notifyWorker(other);
            const run = this.run(name, job, work);
            this.running.add(run);
            try {
              await run;
            } finally {
              this.running.delete(run);
              // And this one again at once: a backlog drains as fast as the work goes (Slack's
              // 429s pace it), not a job per interval.
              if (id) this.boss.notifyWorker(id);
            }
          },
        );
        ids.push(id);
      };
      const offset = ((this.workers++ * SPREAD) % 1) * interval * 1000;
      const timer = setTimeout(() => {
        this.starting.delete(timer);
        register().catch((err: unknown) =>
          this.logger.warn({ job: name, error: (err as Error).message }, 'job worker not started'),
        );
      }, offset);
      timer.unref();
      this.starting.add(timer);
    }
  }

  private async run<T extends object>(name: string, job: PgBoss.JobWithMetadata<T>, work: JobWork<T>) {
    const attempt = job.retryCount + 1;
    try {
      await work(job.data, { id: job.id, attempt });
    } catch (err) {
      if (err instanceof RetryAt) {
        // Not a failure: a new job at the time Slack asked for, this one done.
        await this.send(name, job.data, { startAfter: err.when, retryLimit: job.retryLimit });
        this.logger.info({ job: name, at: err.when.toISOString() }, 'job rescheduled');
        return;
      }
      const last = job.retryCount >= job.retryLimit;
      const fields = { job: name, id: job.id, attempt, error: (err as Error).message };
      if (last) this.logger.error(fields, 'job failed for good');
      else this.logger.warn(fields, 'job failed; it will be retried');
      throw err;
    }
  }

  /** Queues a job; inside a transaction (`trx`) it exists only if that commits. */
  async send<T extends object>(name: string, data: T, options: JobOptions = {}, trx?: Knex.Transaction) {
    // Inside a transaction on PGlite's one connection, creating a queue through the pool would
    // wait for that very connection: the queue must exist already (start() makes the domain's).
    if (trx && !this.names.has(name)) throw new Error(`job queue ${name} was not created at start`);
    await this.ensureQueue(name);
    return this.boss.send(name, data, {
      ...DEFAULT_RETRY,
      ...options,
      // The app's own sends go to the database even after the queue stopped working jobs (a
      // request finishing during a graceful stop still queues what it must).
      db: trx ? inTransactionExecutor(trx) : this.sender,
    });
  }

  /** The domain's way to queue work for later (services/jobs.ts). */
  async later(db: Db, name: JobName, data: Record<string, string | number>, startAfter?: Date): Promise<void> {
    const trx = (db as Knex.Transaction).isTransaction ? (db as Knex.Transaction) : undefined;
    await this.send(name, data, startAfter ? { startAfter } : {}, trx);
  }

  /** A job every time `cron` (minute resolution, UTC) comes round, sent by one process only. */
  async every(name: string, cron: string): Promise<void> {
    await this.ensureQueue(name);
    await this.boss.schedule(name, cron, {}, { tz: 'UTC' });
  }

  /**
   * Stops fetching, waits up to `graceMs` for the jobs in flight, and hands back those still
   * running (they run again, elsewhere or after the next start).
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const timer of this.starting) clearTimeout(timer);
    this.starting.clear();
    const until = Date.now() + graceMs;
    await this.boss.stop({ graceful: true, wait: true, close: false, timeout: Math.max(1_000, graceMs) });
    // pg-boss handed back what still runs; let it finish within the grace if it can.
    const left = until - Date.now();
    if (this.running.size > 0 && left > 0) {
      await Promise.race([
        Promise.allSettled([...this.running]),
        new Promise((resolve) => setTimeout(resolve, left).unref()),
      ]);
    }
    this.stopped = true;
  }

  private async ensureQueue(name: string): Promise<void> {
    if (this.names.has(name)) return;
    // The app's queues are made by its migrations; a new one (tests) is made here. pg-boss gives
    // each queue a partition: two processes attaching partitions at once may deadlock, and retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.boss.createQueue(name);
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== '40P01' || attempt >= 5) throw err;
      }
    }
    this.names.add(name);
  }
}
