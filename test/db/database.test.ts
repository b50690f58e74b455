// The embedded database on disk: created where asked, migrated, durable across restarts, and
// held by one opener at a time (in this process or any other).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, migrateToLatest, openPglite } from '../../src/db/database.js';
import { DataDirLockedError } from '../../src/db/pglite-lock.js';
import { copyTemplateInto, templateDir } from '../../src/db/pglite-template.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
// Initialising a fresh PGlite folder takes seconds.
const SLOW = 60_000;

const dirs: string[] = [];
const open: Database[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'chatbees-users-pglite-'));
  dirs.push(dir);
  return dir;
}

async function openHere(dataDir: string): Promise<Database> {
  const db = await openPglite(dataDir);
  open.push(db);
  return db;
}

async function publicTables(db: Database): Promise<string[]> {
  const rows: Array<{ table_name: string }> = await db
    .knex('information_schema.tables')
    .where({ table_schema: 'public' })
    .select('table_name');
  return rows.map((r) => r.table_name);
}

afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('openPglite', () => {
  it(
    'creates a folder whose parent is missing, migrates it, and keeps its data across close and reopen',
    async () => {
      const dataDir = path.join(tempDir(), 'missing', 'parent', 'pglite');
      const lockFile = `${dataDir}.lock`;

      const db = await openHere(dataDir);
      expect(db.backend).toBe('pglite');
      expect(existsSync(dataDir)).toBe(true);
      expect(existsSync(lockFile)).toBe(true);
      await migrateToLatest(db.knex);
      expect(await publicTables(db)).toEqual(expect.arrayContaining(['accounts', 'members', 'invites', 'audit_log']));
      const [row] = await db.knex('accounts').insert({ slack_team_id: 'T0DURABLE', name: 'Durable' }).returning('id');
      await db.close();
      expect(existsSync(lockFile)).toBe(false);

      const again = await openHere(dataDir);
      await migrateToLatest(again.knex); // nothing to do, and harmless
      const accounts = await again.knex('accounts').select('id', 'slack_team_id', 'name');
      expect(accounts).toEqual([{ id: row.id, slack_team_id: 'T0DURABLE', name: 'Durable' }]);
      await again.close();
      expect(existsSync(lockFile)).toBe(false);
    },
    SLOW,
  );

  it(
    'refuses a second open of the folder, here or in another process, while the first stays usable',
    async () => {
      const dataDir = path.join(tempDir(), 'pglite');
      const db = await openHere(dataDir);
      await db.knex.raw('create table notes (body text)');
      await db.knex('notes').insert({ body: 'first' });

      await expect(openPglite(dataDir)).rejects.toBeInstanceOf(DataDirLockedError);
      await expect(openPglite(dataDir)).rejects.toThrow(`in use by another process (pid ${process.pid})`);

      // Another process started on the same folder.
      const script = [
        `import { openPglite } from ${JSON.stringify(pathToFileURL(path.join(repoRoot, 'src/db/database.ts')).href)};`,
        'try {',
        '  const db = await openPglite(process.env.DATA_DIR);',
        '  await db.close();',
        "  console.log(JSON.stringify({ name: 'opened' }));",
        '} catch (err) {',
        '  console.log(JSON.stringify({ name: err.name, message: err.message }));',
        '}',
      ].join('\n');
      const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: repoRoot,
        env: { ...process.env, DATA_DIR: dataDir },
        timeout: SLOW,
      });
      const result = JSON.parse(stdout.trim()) as { name: string; message?: string };
      expect(result.name).toBe('DataDirLockedError');
      expect(result.message).toContain(`The embedded database is in use by another process (pid ${process.pid})`);
      expect(result.message).toContain(`Lock file: ${dataDir}.lock`);

      // The holder is untouched by all that.
      await db.ping();
      await db.knex('notes').insert({ body: 'second' });
      expect((await db.knex('notes').orderBy('body').pluck('body')) as string[]).toEqual(['first', 'second']);
      await db.close();
      expect(existsSync(`${dataDir}.lock`)).toBe(false);
    },
    SLOW,
  );
});

describe('a new folder from the image', () => {
  it('copies the unpacked image into a missing or empty folder, whole, leaving nothing beside it', () => {
    const root = tempDir();
    const image = path.join(root, 'image');
    mkdirSync(path.join(image, 'base', '1'), { recursive: true });
    writeFileSync(path.join(image, 'PG_VERSION'), '17\n');
    writeFileSync(path.join(image, 'base', '1', 'table'), 'rows');
    expect(copyTemplateInto(path.join(root, 'missing'), image)).toBe(true);
    expect(readFileSync(path.join(root, 'missing', 'base', '1', 'table'), 'utf8')).toBe('rows');
    mkdirSync(path.join(root, 'empty'));
    expect(copyTemplateInto(path.join(root, 'empty'), image)).toBe(true);
    expect(readFileSync(path.join(root, 'empty', 'PG_VERSION'), 'utf8')).toBe('17\n');
    expect(readdirSync(root).sort()).toEqual(['empty', 'image', 'missing']);
  });

  it('says so, and leaves nothing, when there is no image or the copy fails', () => {
    const root = tempDir();
    expect(copyTemplateInto(path.join(root, 'db'), path.join(root, 'no-image'))).toBe(false);
    const image = path.join(root, 'image');
    mkdirSync(image);
    writeFileSync(path.join(image, 'PG_VERSION'), '17\n');
    // The folder's parent is a file: the copy cannot be made.
    writeFileSync(path.join(root, 'file'), '');
    expect(copyTemplateInto(path.join(root, 'file', 'db'), image)).toBe(false);
    expect(readdirSync(root).sort()).toEqual(['file', 'image']);
  });

  it(
    'has the image folder npm install made: a migrated database that opens as a new folder',
    async () => {
      // npm ci / npm install run the postinstall script that makes it (pglite-template.ts).
      expect(existsSync(path.join(templateDir(), 'PG_VERSION'))).toBe(true);
      const db = await openHere(path.join(tempDir(), 'pglite'));
      expect(await publicTables(db)).toEqual(expect.arrayContaining(['accounts', 'members', 'invites', 'audit_log']));
    },
    SLOW,
  );
});
