import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrationConfig } from './migration-source.js';
import { PgliteLock } from './pglite-lock.js';

// int8 (bigserial ids, count(*)) as numbers on both backends: our ids and counts stay far
// below 2^53, and services then never see '3' where they expect 3.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export type Backend = 'postgres' | 'pglite';

/**
 * The extensions PGlite must load: pg_trgm, whose indexes make `list <text>` and the console's
 * search fast among many members (PostgreSQL ships it in contrib). Every PGlite the app or the
 * tests open takes these, or a query planned on such an index fails.
 */
export const PGLITE_EXTENSIONS = { pg_trgm };

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

/**
 * PostgreSQL through node-postgres, pooled. Short timeouts everywhere: when the server stops
 * answering, a request must fail within Slack's 3 seconds rather than wait for TCP to give up.
 */
export function openPostgres(connectionString: string, options: { poolMax?: number } = {}): Database {
  const knex = knexFactory({
    client: 'pg',
    connection: {
      connectionString,
      application_name: 'chatbees-users',
      connectionTimeoutMillis: 2_000,
      keepAlive: true,
      // Client side: a query on a connection that went silent fails instead of hanging.
      query_timeout: 5_000,
      statement_timeout: 5_000,
      idle_in_transaction_session_timeout: 10_000,
    },
    pool: { min: 0, max: options.poolMax ?? 10 },
    acquireConnectionTimeout: 2_500,
  });
  return wrap(knex, 'postgres', async () => {});
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

/** PGlite on disk in `dataDir`, held by this process alone through a lock file beside it. */
export async function openPglite(dataDir: string): Promise<Database> {
  const dir = path.resolve(dataDir);
  mkdirSync(path.dirname(dir), { recursive: true });
  const lock = new PgliteLock(`${dir}.lock`);
  lock.acquire();
  try {
    const pglite = await PGlite.create(dir, { extensions: PGLITE_EXTENSIONS });
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

export async function openDatabase(options: { databaseUrl?: string; pgliteDataDir: string }): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openPglite(options.pgliteDataDir);
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
