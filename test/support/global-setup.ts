// Runs once before all test files: a migrated PGlite image every file clones (initialising
// PGlite from scratch takes seconds; loading an image well under one), and, when
// TEST_DATABASE_URL is set, a migrated PostgreSQL template database files copy.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import { migrateToLatest, openPostgres, PGLITE_EXTENSIONS, wrapPglite } from '../../src/db/database.js';
import { adminUrl, databaseUrl, templateName } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteImage: string;
    postgresTemplate: string | null;
  }
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(tmpdir(), 'chatbees-users-test-'));
  const pglite = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
  const db = wrapPglite(pglite);
  await migrateToLatest(db.knex);
  const image = await pglite.dumpDataDir('none');
  await db.close();
  const imageFile = path.join(dir, 'pglite-image.tar');
  writeFileSync(imageFile, Buffer.from(await image.arrayBuffer()));
  project.provide('pgliteImage', imageFile);

  let template: string | null = null;
  const url = process.env.TEST_DATABASE_URL;
  if (process.env.TEST_POOLER_URL && !url) {
    throw new Error('TEST_POOLER_URL needs TEST_DATABASE_URL: the server behind the pooler, reached directly');
  }
  if (url) {
    template = templateName();
    const admin = openPostgres(adminUrl(url), { poolMax: 1 });
    await admin.knex.raw(`DROP DATABASE IF EXISTS "${template}"`);
    await admin.knex.raw(`CREATE DATABASE "${template}"`);
    const tpl = openPostgres(databaseUrl(url, template), { poolMax: 1 });
    await migrateToLatest(tpl.knex);
    await tpl.close();
    await admin.close();
  }
  project.provide('postgresTemplate', template);

  return async () => {
    rmSync(dir, { recursive: true, force: true });
    if (url && template) {
      const admin = openPostgres(adminUrl(url), { poolMax: 1 });
      await admin.knex.raw(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
      await admin.close();
    }
  };
}
