// A new embedded database starts from an image made once, not from PGlite's initdb: initdb in
// WebAssembly is most of a first start (seconds), unpacking a migrated image a fraction of it,
// and copying the image's folder, unpacked once, less again (about 1.3 s less than unpacking
// on each first start, measured with npm run bench).
// `npm install` makes the image (the postinstall script runs this file); it is keyed by PGlite's
// version and the migrations, so a stale one is never used, and a missing one (installed with
// --ignore-scripts, a read-only node_modules) only means the slower start. It holds an empty,
// migrated database: no data, no secrets.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import knexFactory, { type Knex } from 'knex';
import { MIGRATION_NAMES, migrationConfig } from './migration-source.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * The extensions PGlite must load: pg_trgm, whose indexes make `list <text>` and the console's
 * search fast among many members (PostgreSQL ships it in contrib). Every PGlite the app or the
 * tests open takes these, or a query planned on such an index fails.
 */
export const PGLITE_EXTENSIONS = { pg_trgm };
/** PGlite's version: an image from another version is not used. */
function pgliteVersion(): string {
  try {
    const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    const manifest = path.join(entry.slice(0, entry.lastIndexOf(`${path.sep}dist${path.sep}`)), 'package.json');
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Where the image for this PGlite and these migrations lives. */
export function templateFile(root = ROOT): string {
  const key = createHash('sha256')
    .update(JSON.stringify([pgliteVersion(), MIGRATION_NAMES]))
    .digest('hex')
    .slice(0, 16);
  return path.join(root, 'node_modules', '.cache', 'chatbees-users', `pglite-${key}.tar.gz`);
}

/** The image, when one was made for this PGlite and these migrations. */
export function readTemplate(file = templateFile()): Blob | undefined {
  try {
    return new Blob([readFileSync(file)]);
  } catch {
    return undefined;
  }
}

/** The image unpacked: a closed database folder that a new data folder starts as a copy of. */
export function templateDir(file = templateFile()): string {
  return file.replace(/\.tar\.gz$/, '');
}

/**
 * Makes `dir` (missing or empty) a copy of the unpacked image, if there is one: copied beside it
 * and renamed into place, so a start that dies half-way leaves no half-copied folder behind.
 * False when there is no image folder (the caller unpacks the archive, or runs initdb).
 */
export function copyTemplateInto(dir: string, from = templateDir()): boolean {
  if (!existsSync(path.join(from, 'PG_VERSION'))) return false;
  const partial = `${dir}.${process.pid}.partial`;
  try {
    rmSync(partial, { recursive: true, force: true });
    cpSync(from, partial, { recursive: true });
    rmSync(dir, { recursive: true, force: true }); // empty: the caller checked
    renameSync(partial, dir);
    return true;
  } catch {
    try {
      rmSync(partial, { recursive: true, force: true });
    } catch {
      // nothing was made there (its parent is not a folder)
    }
    return false;
  }
}

/**
 * Makes the image: a new database in memory, migrated, dumped; written whole or not at all.
 * Then unpacks it once into its folder (templateDir) for new data folders to copy.
 */
export async function makeTemplate(file = templateFile()): Promise<string> {
  const pglite = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
  const knex: Knex = knexFactory({
    client: 'pg',
    connection: createPgConfig(pglite) as unknown as Knex.PgConnectionConfig,
    pool: { min: 1, max: 1 },
  });
  try {
    await knex.migrate.latest(migrationConfig);
  } finally {
    await knex.destroy();
  }
  const image = await pglite.dumpDataDir('gzip');
  await pglite.close();
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, Buffer.from(await image.arrayBuffer()));
  renameSync(partial, file);
  const dir = templateDir(file);
  const partialDir = `${dir}.${process.pid}.partial`;
  rmSync(partialDir, { recursive: true, force: true });
  const unpacked = await PGlite.create(partialDir, { extensions: PGLITE_EXTENSIONS, loadDataDir: image });
  await unpacked.close();
  rmSync(dir, { recursive: true, force: true });
  renameSync(partialDir, dir);
  // Images for another PGlite or other migrations are of no use any more.
  const folder = path.dirname(file);
  for (const entry of readdirSync(folder))
    if (entry.startsWith('pglite-') && !path.join(folder, entry).startsWith(dir))
      rmSync(path.join(folder, entry), { recursive: true, force: true });
  return file;
}

// `npm install` runs this (postinstall): never fails the install.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  makeTemplate()
    .then((file) =>
      console.log(
        `chatbees-users: embedded database image ready (${Date.now() - started} ms): ${path.relative(ROOT, file)}`,
      ),
    )
    .catch((err: unknown) =>
      console.log(
        `chatbees-users: no embedded database image (${err instanceof Error ? err.message : err}); the first start will take longer`,
      ),
    );
}
