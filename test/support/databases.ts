// A fresh database per test file (or per call), on each backend under test: PGlite always,
// PostgreSQL when TEST_DATABASE_URL is set.
import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { inject } from 'vitest';
import { type Backend, type Database, openPostgres, PGLITE_EXTENSIONS, wrapPglite } from '../../src/db/database.js';
import { adminUrl, databaseUrl, scratchName } from './postgres.js';

export interface TestDatabase extends Database {
  /** Connection URL for PostgreSQL scratch databases (for other pools or processes). */
  readonly url: string | null;
}

export interface BackendUnderTest {
  name: Backend;
  open(): Promise<TestDatabase>;
}

let image: Blob | undefined;

export async function openPgliteTestDatabase(): Promise<TestDatabase> {
  image ??= new Blob([readFileSync(inject('pgliteImage'))]);
  const pglite = await PGlite.create({ loadDataDir: image, extensions: PGLITE_EXTENSIONS });
  return Object.assign(wrapPglite(pglite), { url: null });
}

export const postgresUrl: string | undefined = process.env.TEST_DATABASE_URL || undefined;

/** A new PostgreSQL database copied from the migrated template; dropped on close. */
export async function openPostgresTestDatabase(options: { poolMax?: number } = {}): Promise<TestDatabase> {
  const url = postgresUrl;
  const template = inject('postgresTemplate');
  if (!url || !template) throw new Error('TEST_DATABASE_URL is not set');
  const name = scratchName();
  const admin = openPostgres(adminUrl(url), { poolMax: 1 });
  try {
    await admin.knex.raw(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await admin.close();
  }
  const scratchUrl = databaseUrl(url, name);
  const db = openPostgres(scratchUrl, options);
  return {
    knex: db.knex,
    backend: db.backend,
    url: scratchUrl,
    ping: () => db.ping(),
    async close() {
      await db.close();
      const dropper = openPostgres(adminUrl(url), { poolMax: 1 });
      try {
        await dropper.knex.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await dropper.close();
      }
    },
  };
}

export const backends: BackendUnderTest[] = [
  { name: 'pglite', open: openPgliteTestDatabase },
  ...(postgresUrl ? [{ name: 'postgres' as const, open: () => openPostgresTestDatabase() }] : []),
];
