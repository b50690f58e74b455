// The lock file that keeps a second process (or a second open in this one) off an embedded
// database's folder, and that is taken over when whoever left it is gone.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, PgliteLock } from '../../src/db/pglite-lock.js';

let dir: string;
let file: string;
const locks: PgliteLock[] = [];
const children: ChildProcess[] = [];

function newLock(): PgliteLock {
  const lock = new PgliteLock(file);
  locks.push(lock);
  return lock;
}

function holder(): string {
  return readFileSync(file, 'utf8').trim();
}

/** The error `acquire` throws; fails the test when it succeeds or throws something else. */
function refusal(lock: PgliteLock): DataDirLockedError {
  try {
    lock.acquire();
  } catch (err) {
    if (err instanceof DataDirLockedError) return err;
    throw err;
  }
  throw new Error('acquire succeeded');
}

/** A live node process other than this one. */
async function otherProcess(): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  if (child.pid === undefined) throw new Error('child has no pid');
  return child as ChildProcess & { pid: number };
}

/** Kills a child and waits until it has exited (and been reaped). */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'chatbees-users-lock-'));
  file = path.join(dir, 'pglite.lock');
});

afterEach(async () => {
  for (const lock of locks.splice(0)) lock.release();
  await Promise.all(children.splice(0).map(kill));
  rmSync(dir, { recursive: true, force: true });
});

describe('PgliteLock', () => {
  it('creates the lock file with our pid, readable by us alone, and removes it on release', () => {
    const lock = newLock();
    lock.acquire();
    expect(holder()).toBe(String(process.pid));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('stops listening for process exit once released', () => {
    const before = process.listenerCount('exit');
    const lock = newLock();
    lock.acquire();
    expect(process.listenerCount('exit')).toBe(before + 1);
    lock.release();
    expect(process.listenerCount('exit')).toBe(before);
  });

  it('refuses a second lock on the same file in this process, until the first is released', () => {
    const first = newLock();
    first.acquire();
    const second = newLock();
    const err = refusal(second);
    expect(err.name).toBe('DataDirLockedError');
    expect(err.message).toMatch(/in use by another process/);
    expect(err.message).toContain(file);
    expect(err.holderPid).toBe(process.pid);
    expect(err.lockFile).toBe(file);
    // The refusal leaves the holder's lock alone.
    expect(holder()).toBe(String(process.pid));

    first.release();
    second.acquire();
    expect(holder()).toBe(String(process.pid));
    // Releasing the refused-then-released lock again is harmless and keeps the new holder's file.
    first.release();
    expect(existsSync(file)).toBe(true);
  });

  it('refuses a lock held by another live process, and takes it over once that process is gone', async () => {
    const child = await otherProcess();
    writeFileSync(file, `${child.pid}\n`);
    const lock = newLock();
    const err = refusal(lock);
    expect(err.holderPid).toBe(child.pid);
    expect(err.message).toContain(`pid ${child.pid}`);
    expect(holder()).toBe(String(child.pid));

    await kill(child);
    lock.acquire();
    expect(holder()).toBe(String(process.pid));
    expect(readdirSync(dir)).toEqual(['pglite.lock']);
  });

  it('takes over a lock naming our pid that this process does not hold (left by an earlier process)', () => {
    writeFileSync(file, `${process.pid}\n`);
    const lock = newLock();
    lock.acquire();
    expect(holder()).toBe(String(process.pid));
    expect(readdirSync(dir)).toEqual(['pglite.lock']);
    // And it is ours now: another open here is refused, and release removes it.
    expect(refusal(newLock()).holderPid).toBe(process.pid);
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it.each([
    ['garbage', 'not a pid\n'],
    ['an empty file', ''],
    ['pid 0', '0\n'],
  ])('takes over a lock file holding %s', (_what, content) => {
    writeFileSync(file, content);
    const lock = newLock();
    lock.acquire();
    expect(holder()).toBe(String(process.pid));
    expect(readdirSync(dir)).toEqual(['pglite.lock']);
  });

  it('on release, leaves a lock file that names another process', async () => {
    const child = await otherProcess();
    const lock = newLock();
    lock.acquire();
    writeFileSync(file, `${child.pid}\n`);
    lock.release();
    expect(holder()).toBe(String(child.pid));
  });
});
