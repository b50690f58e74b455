// The key that signs registration links: the configured one, or one generated once and kept
// beside the embedded database's folder.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generatedSecretFile, resolveRegistrationLinkSecret } from '../src/registration-link-secret.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'chatbees-users-secret-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('resolveRegistrationLinkSecret', () => {
  it('returns the configured key as is, and writes no file', () => {
    const configured = 'configured-registration-link-key-0123456789';
    const result = resolveRegistrationLinkSecret({ configured, pgliteDataDir: path.join(dir, 'pglite') });
    expect(result).toEqual({ secret: configured, source: 'environment' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('generates a key once, beside the data folder, readable by us alone, and reads it back after', () => {
    // The data folder's parent does not exist yet.
    const dataDir = path.join(dir, 'state', 'pglite');
    const file = path.join(dir, 'state', 'registration-link-secret');
    expect(generatedSecretFile(dataDir)).toBe(file);

    const first = resolveRegistrationLinkSecret({ configured: undefined, pgliteDataDir: dataDir });
    expect(first.source).toBe('generated');
    expect(first.file).toBe(file);
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // No draft left behind.
    expect(readdirSync(path.dirname(file))).toEqual(['registration-link-secret']);

    const second = resolveRegistrationLinkSecret({ configured: '', pgliteDataDir: dataDir });
    expect(second).toEqual({ secret: first.secret, source: 'file', file });
    expect(readdirSync(path.dirname(file))).toEqual(['registration-link-secret']);
  });

  it('generates a different key for a different folder', () => {
    const a = resolveRegistrationLinkSecret({ configured: undefined, pgliteDataDir: path.join(dir, 'a', 'pglite') });
    const b = resolveRegistrationLinkSecret({ configured: undefined, pgliteDataDir: path.join(dir, 'b', 'pglite') });
    expect(a.secret).not.toBe(b.secret);
  });

  it('keeps the file of a relative data folder beside its absolute path', () => {
    expect(generatedSecretFile('./.data/pglite')).toBe(path.resolve('.data', 'registration-link-secret'));
  });

  it('refuses a key file holding a key shorter than 32 characters, with a clear message', () => {
    const dataDir = path.join(dir, 'pglite');
    const file = generatedSecretFile(dataDir);
    writeFileSync(file, 'too-short-key\n');
    expect(() => resolveRegistrationLinkSecret({ configured: undefined, pgliteDataDir: dataDir })).toThrow(
      `${file} holds a registration link key shorter than 32 characters; delete it to make a new one.`,
    );
    // The short key is left for the operator to see; no draft is left beside it.
    expect(readFileSync(file, 'utf8')).toBe('too-short-key\n');
    expect(readdirSync(dir)).toEqual(['registration-link-secret']);
  });
});
