import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';

export class DataDirLockedError extends Error {
  constructor(
    readonly lockFile: string,
    readonly holderPid: number,
  ) {
    super(
      `The embedded database is in use by another process (pid ${holderPid}). ` +
        'Only one process may open it: stop that process, or set DATABASE_URL to share a PostgreSQL ' +
        `server between several. Lock file: ${lockFile}`,
    );
    this.name = 'DataDirLockedError';
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
}

// Lock files this process holds: a lock naming our own pid that is not among them was left by
// an earlier process that had the same pid (containers often run as pid 1).
const heldHere = new Set<string>();

/**
 * An exclusive lock file holding the owner's pid. Two processes opening one PGlite data
 * directory corrupt it, so the second must be refused; a lock left by a dead process is
 * taken over.
 */
export class PgliteLock {
  private held = false;
  private readonly releaseOnExit = () => this.release();

  constructor(readonly file: string) {}

  acquire(): void {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fd = openSync(this.file, 'wx', 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        this.held = true;
        heldHere.add(this.file);
        process.once('exit', this.releaseOnExit);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readHolder(this.file);
      if (holder === undefined) continue; // removed meanwhile: try again
      const ours = holder === process.pid;
      if (ours ? heldHere.has(this.file) : isAlive(holder)) throw new DataDirLockedError(this.file, holder);
      this.takeOverStale(holder);
    }
    throw new Error(`Could not take the embedded database's lock file ${this.file}; try again.`);
  }

  /** Moves the stale lock aside atomically; restores it if another process took it meanwhile. */
  private takeOverStale(stalePid: number): void {
    const aside = `${this.file}.${process.pid}.stale`;
    try {
      renameSync(this.file, aside);
    } catch {
      return; // someone else moved it first
    }
    const moved = readHolder(aside);
    if (moved === stalePid || moved === undefined || Number.isNaN(moved)) {
      unlinkSync(aside);
      return;
    }
    // A live process took the lock between our read and the rename: give it back.
    try {
      linkSync(aside, this.file);
    } catch {
      // a newer lock stands there already
    }
    unlinkSync(aside);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    heldHere.delete(this.file);
    process.removeListener('exit', this.releaseOnExit);
    if (readHolder(this.file) === process.pid) {
      try {
        unlinkSync(this.file);
      } catch {
        // already gone
      }
    }
  }
}
