import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { DevenvError } from '../errors.js';
import { loadAddon } from '../runtime/native.js';

/** A held flock(2) lock; the kernel releases it if the process dies, so a kill -9 never leaves it stuck. */
export interface FileLock {
  release(): void;
}

export interface LockOptions {
  /** What is locked, for the error message ("container `web`"). */
  what: string;
  timeoutMs?: number;
}

/** Take an exclusive lock on `path` (created if needed), waiting up to timeoutMs. */
export async function acquireFileLock(path: string, options: LockOptions): Promise<FileLock> {
  const { flock } = loadAddon();
  const fd = openSync(path, 'a', 0o600);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let delay = 5;
  try {
    while (!flock(fd, true, true)) {
      if (Date.now() > deadline) {
        throw new DevenvError('CONTAINER_LOCKED', `${options.what} is busy: another devenv command holds its lock`, {
          hint: 'Wait for the other command to finish, then retry.',
        });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 100);
    }
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      closeSync(fd); // closing the last fd drops the flock
    },
  };
}

/** Run fn while holding the lock. */
export async function withFileLock<T>(path: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireFileLock(path, options);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
