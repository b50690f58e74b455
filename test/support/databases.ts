// A fresh database per test file (or per call), on each backend under test: PGlite always,
// PostgreSQL when TEST_DATABASE_URL is set. With TEST_POOLER_URL too (a PgBouncer in
// pool_mode = transaction in front of that server), the app's connections to PostgreSQL go
// through the pooler, as with DATABASE_POOLER=transaction, and only PostgreSQL is under test;
// creating and dropping databases still goes straight to TEST_DATABASE_URL.
import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { inject } from 'vitest';
import type { DatabasePooler } from '../../src/config.js';
import {
  type Backend,
  type Database,
  openPostgres,
  PGLITE_EXTENSIONS,
  TIMEOUTS,
  type Timeouts,
  wrapPglite,
} from '../../src/db/database.js';
import { adminUrl, databaseUrl, scratchName } from './postgres.js';

export interface TestDatabase extends Database {
  /** Connection URL for PostgreSQL scratch databases (for other pools or processes). */
  readonly url: string | null;
  /** How `url` reaches the server: 'transaction' through TEST_POOLER_URL's pooler. */
  readonly pooler: DatabasePooler;
}

export interface BackendUnderTest {
  name: Backend;
  open(): Promise<TestDatabase>;
}

let image: Blob | undefined;

export async function openPgliteTestDatabase(): Promise<TestDatabase> {
  image ??= new Blob([readFileSync(inject('pgliteImage'))]);
  const pglite = await PGlite.create({ loadDataDir: image, extensions: PGLITE_EXTENSIONS });
  return Object.assign(wrapPglite(pglite), { url: null, pooler: 'none' as const });
}

export const postgresUrl: string | undefined = process.env.TEST_DATABASE_URL || undefined;
/** The same server behind PgBouncer in transaction mode (`.ci/run`'s pooler pass). */
export const poolerUrl: string | undefined = process.env.TEST_POOLER_URL || undefined;

export interface PostgresTestOptions {
  poolMax?: number;
  /** The app's limits on the server (TIMEOUTS unless said). */
  timeouts?: Timeouts;
  /**
   * Through the pooler: the statement timeout the database gives every session, as a DBA gives
   * the app's role one (README, "Behind a connection pooler"); TIMEOUTS' unless said, null for none.
   */
  defaultStatementTimeoutMs?: number | null;
}

/** A new PostgreSQL database copied from the migrated template; dropped on close. */
export async function openPostgresTestDatabase(options: PostgresTestOptions = {}): Promise<TestDatabase> {
  const url = postgresUrl;
  const template = inject('postgresTemplate');
  if (!url || !template) throw new Error('TEST_DATABASE_URL is not set');
  const name = scratchName();
  const pooler: DatabasePooler = poolerUrl ? 'transaction' : 'none';
  const timeoutMs =
    options.defaultStatementTimeoutMs === undefined ? TIMEOUTS.statementMs : options.defaultStatementTimeoutMs;
  await onServer(url, [
    `CREATE DATABASE "${name}" TEMPLATE "${template}"`,
    ...(pooler === 'transaction' && timeoutMs !== null
      ? [`ALTER DATABASE "${name}" SET statement_timeout = ${Math.trunc(timeoutMs)}`]
      : []),
  ]);
  const scratchUrl = databaseUrl(poolerUrl ?? url, name);
  const db = openPostgres(scratchUrl, { poolMax: options.poolMax, timeouts: options.timeouts, pooler });
  return {
    knex: db.knex,
    backend: db.backend,
    url: scratchUrl,
    pooler,
    ping: () => db.ping(),
    async close() {
      await db.close();
      await onServer(url, [`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`]);
    },
  };
}

/**
 * The tests' own work on the server (making and dropping databases), straight to it, with a
 * minute for each statement rather than the app's 5 s: on a busy machine, ending a database's
 * sessions (the pooler's among them) can take longer.
 */
async function onServer(url: string, statements: string[]): Promise<void> {
  const admin = new pg.Client({
    connectionString: adminUrl(url),
    application_name: 'chatbees-users-tests',
    statement_timeout: 60_000,
  });
  await admin.connect();
  try {
    for (const statement of statements) await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/**
 * The clients a pooler holds for `url`'s database, from its admin console (`SHOW CLIENTS`; the
 * pooler's admin_users or stats_users must list the user). Through a pooler the server's
 * sessions are the pooler's, kept when a client goes: its clients are who is connected.
 */
export async function poolerClients(url: string): Promise<number> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new pg.Client(databaseUrl(url, 'pgbouncer'));
  await admin.connect();
  try {
    const { rows } = await admin.query<{ database: string }>('SHOW CLIENTS');
    return rows.filter((row) => row.database === database).length;
  } finally {
    await admin.end();
  }
}

/** PGlite and PostgreSQL; PostgreSQL alone in the pooler pass (PGlite has no pooler). */
export const backends: BackendUnderTest[] = [
  ...(poolerUrl ? [] : [{ name: 'pglite' as const, open: openPgliteTestDatabase }]),
  ...(postgresUrl ? [{ name: 'postgres' as const, open: () => openPostgresTestDatabase() }] : []),
];
