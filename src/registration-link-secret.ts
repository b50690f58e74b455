import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';

/** Where a generated key is kept: beside the embedded database's folder. */
export function generatedSecretFile(pgliteDataDir: string): string {
  return path.join(path.dirname(path.resolve(pgliteDataDir)), 'registration-link-secret');
}

/**
 * The key that signs registration links on the embedded database: REGISTRATION_LINK_SECRET
 * when set (always in production); otherwise one generated on first start and kept in a file
 * beside the database's folder, so links stay valid across restarts.
 */
export function resolveRegistrationLinkSecret(options: { configured: string | undefined; pgliteDataDir: string }): {
  secret: string;
  source: 'environment' | 'generated' | 'file';
  file?: string;
} {
  if (options.configured) return { secret: options.configured, source: 'environment' };
  const file = generatedSecretFile(options.pgliteDataDir);
  mkdirSync(path.dirname(file), { recursive: true });
  // Written aside and linked into place, so a process starting alongside never reads half a key.
  const draft = `${file}.${process.pid}.tmp`;
  writeFileSync(draft, `${randomBytes(48).toString('base64url')}\n`, { mode: 0o600 });
  try {
    linkSync(draft, file);
    return { secret: readSecret(file), source: 'generated', file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { secret: readSecret(file), source: 'file', file };
  } finally {
    unlinkSync(draft);
  }
}

function readSecret(file: string): string {
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) {
    throw new Error(`${file} holds a registration link key shorter than 32 characters; delete it to make a new one.`);
  }
  return secret;
}

const SETTING = 'registration_link_secret';

/**
 * Without REGISTRATION_LINK_SECRET but with a shared PostgreSQL (outside production): one key
 * for every process on that database, made by whichever starts first and kept in
 * `app_settings`, so a link made by one process opens on any other.
 */
export async function sharedRegistrationLinkSecret(
  knex: Knex,
): Promise<{ secret: string; source: 'generated' | 'database' }> {
  const inserted = await knex.raw<{ rows: unknown[] }>(
    'INSERT INTO app_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING key',
    [SETTING, randomBytes(48).toString('base64url')],
  );
  const row = await knex('app_settings').where({ key: SETTING }).first('value');
  const secret = String(row?.value ?? '');
  if (secret.length < 32) {
    throw new Error(
      `app_settings.${SETTING} holds a key shorter than 32 characters; delete that row to make a new one.`,
    );
  }
  return { secret, source: inserted.rows.length > 0 ? 'generated' : 'database' };
}
