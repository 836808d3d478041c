import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Held while a process has the embedded database open. */
export interface DataDirLock {
  release(): void;
}

/**
 * PGlite has no server to arbitrate between processes: two processes opening the same folder
 * would corrupt it. A pid file created with O_EXCL makes the second one fail with a clear error;
 * a lock left by a process that no longer exists is taken over.
 */
export function acquireDataDirLock(dir: string): DataDirLock {
  const path = join(dir, '..', 'pglite.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && processExists(holder)) {
        throw new Error(
          `the embedded database in ${dir} is in use by process ${holder}; stop it first, or set DATABASE_URL to use a PostgreSQL server that several processes can share`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not lock the embedded database in ${dir}`);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
