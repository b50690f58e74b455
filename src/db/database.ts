import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { DatabasePooler } from '../config.js';
import { migrationConfig } from './migration-source.js';
import { PgliteLock } from './pglite-lock.js';
import { copyTemplateInto, PGLITE_EXTENSIONS, readTemplate } from './pglite-template.js';

// int8 (bigserial ids, count(*)) as numbers on both backends: our ids and counts stay far
// below 2^53, and services then never see '3' where they expect 3.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export type Backend = 'postgres' | 'pglite';

export { PGLITE_EXTENSIONS };

export interface Database {
  readonly knex: Knex;
  readonly backend: Backend;
  /** Resolves while the database answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// Using the outer knex inside a transaction on PGlite's single connection waits for that
// connection; fail in 10 s rather than the default 60 s.
const ACQUIRE_TIMEOUT_MS = 10_000;

function wrap(knex: Knex, backend: Backend, onClose: () => Promise<void>): Database {
  let closing: Promise<void> | undefined;
  return {
    knex,
    backend,
    async ping() {
      await knex.raw('select 1');
    },
    close() {
      closing ??= knex.destroy().then(onClose);
      return closing;
    },
  };
}

/** The server's limits on the app's work: a statement, and a transaction left idle. */
export interface Timeouts {
  statementMs: number;
  idleInTransactionMs: number;
}

export const TIMEOUTS: Timeouts = { statementMs: 5_000, idleInTransactionMs: 10_000 };

export interface PostgresOptions {
  poolMax?: number;
  /** 'transaction': through a pooler in transaction mode (DATABASE_POOLER; README, "Behind a connection pooler"). */
  pooler?: DatabasePooler;
  /** The server's limits; TIMEOUTS unless said (tests shorten them). */
  timeouts?: Timeouts;
}

/**
 * PostgreSQL through node-postgres, pooled. Short timeouts everywhere: when the server stops
 * answering, a request must fail within Slack's 3 seconds rather than wait for TCP to give up.
 *
 * Directly, the server's limits are the session's, sent when connecting. Through a pooler in
 * transaction mode there is no session of our own: PgBouncer refuses those startup parameters,
 * and a SET would reach whichever session the pooler lends next. There each transaction sets
 * its own (`SET LOCAL`, see `throughTransactionPooler`), and a statement outside one runs under
 * the role's defaults, which `openDatabase` checks at start.
 */
export function openPostgres(connectionString: string, options: PostgresOptions = {}): Database {
  const timeouts = options.timeouts ?? TIMEOUTS;
  const pooled = options.pooler === 'transaction';
  const knex = knexFactory({
    client: 'pg',
    connection: {
      connectionString,
      application_name: 'chatbees-users',
      connectionTimeoutMillis: 2_000,
      keepAlive: true,
      // Client side: a query on a connection that went silent fails instead of hanging.
      query_timeout: 5_000,
      ...(pooled
        ? {}
        : {
            statement_timeout: timeouts.statementMs,
            idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
          }),
    },
    pool: {
      min: 0,
      max: options.poolMax ?? 10,
      ...(pooled && {
        afterCreate(connection: pg.Client, done: (err: Error | null, connection: pg.Client) => void) {
          throughTransactionPooler(connection, timeouts);
          done(null, connection);
        },
      }),
    },
    acquireConnectionTimeout: 2_500,
  });
  return wrap(knex, 'postgres', async () => {});
}

/** What knex sends to open a transaction (`BEGIN;`, or with an isolation level or READ ONLY). */
const KNEX_BEGIN = /^BEGIN(?: TRANSACTION [A-Z ]+)?;$/i;

/**
 * A connection through a pooler that lends a server session per transaction, made to keep
 * nothing in the session:
 * - a named prepared statement runs unnamed (parsed each time): a name prepared in one server
 *   session is unknown in the next one the pooler lends, or already taken there. This covers
 *   every `prepared()` (services/db.ts).
 * - every transaction knex opens sets its limits with SET LOCAL, sent with its BEGIN in one
 *   message: no round trip more, and nothing left behind for the next borrower. pg-boss's own
 *   transactions are single "BEGIN; …; COMMIT;" messages that cannot sit idle between statements.
 */
function throughTransactionPooler(connection: pg.Client, timeouts: Timeouts): void {
  const limits =
    ` SET LOCAL statement_timeout = ${Math.trunc(timeouts.statementMs)};` +
    ` SET LOCAL idle_in_transaction_session_timeout = ${Math.trunc(timeouts.idleInTransactionMs)};`;
  const query = connection.query.bind(connection) as (config: unknown, ...rest: unknown[]) => unknown;
  const patched = (config: unknown, ...rest: unknown[]) => {
    // Query configs only; a string, or a submittable (a cursor), goes as it is.
    if (config && typeof config === 'object' && !('submit' in config)) {
      const { name: _unnamed, ...unnamed } = config as pg.QueryConfig;
      return query(KNEX_BEGIN.test(unnamed.text) ? { ...unnamed, text: unnamed.text + limits } : unnamed, ...rest);
    }
    return query(config, ...rest);
  };
  (connection as unknown as { query: typeof patched }).query = patched;
}

/**
 * Knex over an open PGlite through PGlite's node-postgres adapter: the `pg` dialect then
 * behaves exactly as on a server (types, row counts, errors), unlike knex-pglite, whose
 * `.del()` returns a result object and whose counts differ from pg's.
 */
export function wrapPglite(pglite: PGlite, onClose: () => Promise<void> = async () => pglite.close()): Database {
  const knex = knexFactory({
    client: 'pg',
    connection: createPgConfig(pglite) as unknown as Knex.PgConnectionConfig,
    pool: { min: 1, max: 1 },
    acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
  });
  return wrap(knex, 'pglite', onClose);
}

function isEmptyDir(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return true;
  }
}

/** PGlite on disk in `dataDir`, held by this process alone through a lock file beside it. */
export async function openPglite(dataDir: string): Promise<Database> {
  const dir = path.resolve(dataDir);
  mkdirSync(path.dirname(dir), { recursive: true });
  const lock = new PgliteLock(`${dir}.lock`);
  lock.acquire();
  try {
    // A new folder starts as a copy of the image `npm install` made (pglite-template.ts), or
    // from its archive, if there is one.
    const fresh = isEmptyDir(dir);
    const template = fresh && !copyTemplateInto(dir) ? readTemplate() : undefined;
    const pglite = await PGlite.create(dir, {
      extensions: PGLITE_EXTENSIONS,
      ...(template ? { loadDataDir: template } : {}),
    });
    return wrapPglite(pglite, async () => {
      try {
        await pglite.close();
      } finally {
        lock.release();
      }
    });
  } catch (err) {
    lock.release();
    throw err;
  }
}

export async function openDatabase(options: {
  databaseUrl?: string;
  databasePooler?: DatabasePooler;
  pgliteDataDir: string;
}): Promise<Database> {
  if (!options.databaseUrl) return openPglite(options.pgliteDataDir);
  const db = openPostgres(options.databaseUrl, { pooler: options.databasePooler });
  if (options.databasePooler === 'transaction') {
    try {
      await checkRoleStatementTimeout(db.knex);
    } catch (err) {
      await db.close();
      throw err;
    }
  }
  return db;
}

/**
 * Through a pooler, a statement outside a transaction runs under the server's defaults for the
 * role and database: refuses to go on unless they limit statements as a direct connection does.
 */
export async function checkRoleStatementTimeout(knex: Knex, limitMs = TIMEOUTS.statementMs): Promise<void> {
  const { rows } = (await knex.raw(
    "SELECT current_user AS role, setting::int AS ms FROM pg_settings WHERE name = 'statement_timeout'",
  )) as { rows: Array<{ role: string; ms: number }> };
  const { role, ms } = rows[0] as { role: string; ms: number };
  if (ms > 0 && ms <= limitMs) return;
  throw new Error(
    `behind a connection pooler (DATABASE_POOLER=transaction) PostgreSQL must limit each statement itself, ` +
      `and statement_timeout is ${ms === 0 ? 'off' : `${ms} ms`} for role ${role}. ` +
      `Run once: ALTER ROLE "${role}" SET statement_timeout = '${limitMs / 1000}s' ` +
      `(README: "Behind a connection pooler").`,
  );
}

function isMigrationRace(err: unknown): boolean {
  const { name, message, code } = err as { name?: string; message?: string; code?: string };
  // Held migration lock, or two processes creating knex's own tables at the same moment.
  return name === 'MigrationLocked' || /already locked/i.test(message ?? '') || code === '23505' || code === '42P07';
}

/**
 * Applies pending migrations. Several processes starting at once on one server wait for
 * each other: knex refuses while another holds its migration lock, so we retry.
 */
export async function migrateToLatest(knex: Knex, deadlineMs = 60_000): Promise<void> {
  const giveUpAt = Date.now() + deadlineMs;
  for (;;) {
    try {
      await knex.migrate.latest(migrationConfig);
      return;
    } catch (err) {
      if (!isMigrationRace(err) || Date.now() > giveUpAt) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
