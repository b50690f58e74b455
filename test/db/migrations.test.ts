// `npm run migrate`, `npm run migrate:rollback` and the knex CLI with our knexfile, against a
// scratch PostgreSQL database (when TEST_DATABASE_URL is set); and their refusal without one.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/db/database.js';
import { migrationSource } from '../../src/db/migration-source.js';
import { adminUrl, databaseUrl, scratchName } from '../support/postgres.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const serverUrl = process.env.TEST_DATABASE_URL || undefined;
const SLOW = 60_000;
const APP_TABLES = ['accounts', 'audit_log', 'invites', 'members', 'slack_request_claims'];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never rejects on a non-zero exit. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: repoRoot, env, timeout: SLOW }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(err);
        return;
      }
      resolve({ code: err ? (err.code as number) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function envWithout(name: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env[name];
  return env;
}

describe('migration commands without DATABASE_URL', () => {
  it.each(['migrate', 'migrate:rollback'])(
    '`npm run %s` exits non-zero with a one-line message naming DATABASE_URL',
    async (script) => {
      const result = await run('npm', ['run', '-s', script], envWithout('DATABASE_URL'));
      expect(result.code).not.toBe(0);
      const message = result.stderr.trim();
      expect(message.split('\n')).toHaveLength(1);
      expect(message).toContain('DATABASE_URL');
      expect(message).not.toMatch(/\bat .*:\d+:\d+/);
      expect(result.stdout.trim()).toBe('');
    },
    SLOW,
  );
});

describe.runIf(serverUrl)('migration commands on PostgreSQL', () => {
  let name: string;
  let url: string;

  async function admin(sql: string): Promise<void> {
    const db = openPostgres(adminUrl(serverUrl as string), { poolMax: 1 });
    try {
      await db.knex.raw(sql);
    } finally {
      await db.close();
    }
  }

  async function publicTables(): Promise<string[]> {
    const db = openPostgres(url, { poolMax: 1 });
    try {
      const rows: Array<{ table_name: string }> = await db
        .knex('information_schema.tables')
        .where({ table_schema: 'public' })
        .orderBy('table_name')
        .select('table_name');
      return rows.map((r) => r.table_name);
    } finally {
      await db.close();
    }
  }

  beforeEach(async () => {
    name = scratchName();
    url = databaseUrl(serverUrl as string, name);
    await admin(`CREATE DATABASE "${name}"`);
  });
  afterEach(async () => {
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  it(
    '`npm run migrate` creates the tables and `npm run migrate:rollback` removes every one',
    async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url };

      const up = await run('npm', ['run', '-s', 'migrate'], env);
      expect(up.stderr).toBe('');
      expect(up.code).toBe(0);
      expect(up.stdout).toContain('Batch 1 applied');
      const tables = await publicTables();
      expect(tables).toEqual(expect.arrayContaining(['accounts', 'members', 'invites', 'audit_log']));
      expect(tables).toEqual(expect.arrayContaining(['knex_migrations', 'knex_migrations_lock']));

      const again = await run('npm', ['run', '-s', 'migrate'], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('Already up to date.');

      const down = await run('npm', ['run', '-s', 'migrate:rollback'], env);
      expect(down.stderr).toBe('');
      expect(down.code).toBe(0);
      expect(down.stdout).toContain('Rolled back');
      expect(await publicTables()).toEqual([]);
    },
    SLOW,
  );

  it(
    'the knex CLI migrates up and all the way down with knexfile.ts',
    async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url };
      const cli = ['--import', 'tsx', 'node_modules/knex/bin/cli.js', '--knexfile', 'knexfile.ts'];

      const up = await run(process.execPath, [...cli, 'migrate:latest'], env);
      expect(up.code, up.stderr).toBe(0);
      const count = (await migrationSource.getMigrations([])).length;
      expect(up.stdout).toContain(`Batch 1 run: ${count} migrations`);
      expect(await publicTables()).toEqual(expect.arrayContaining(APP_TABLES));

      const down = await run(process.execPath, [...cli, 'migrate:rollback', '--all'], env);
      expect(down.code, down.stderr).toBe(0);
      expect(down.stdout).toContain(`rolled back: ${count} migrations`);
      // knex keeps its own bookkeeping tables; ours are gone.
      expect(await publicTables()).toEqual(['knex_migrations', 'knex_migrations_lock']);
    },
    SLOW,
  );
});
