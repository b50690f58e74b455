import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where a generated key is kept: beside the embedded database's folder. */
export function generatedSecretFile(pgliteDataDir: string): string {
  return path.join(path.dirname(path.resolve(pgliteDataDir)), 'registration-link-secret');
}

/**
 * The key that signs registration links: REGISTRATION_LINK_SECRET when set (always in
 * production); otherwise one generated on first start and kept in a file, so links stay
 * valid across restarts and across processes started from the same folder.
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
