import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { DevenvError, type DevenvErrorCode } from '../errors.js';
import { loadAddon } from './native-addon.js';

/** A held flock(2) lock; the kernel releases it if the process dies, so a kill -9 never leaves it stuck. */
export interface FileLock {
  release(): void;
}

export interface LockOptions {
  /** What is locked, for the error message ("container `web`", "image store"). */
  what: string;
  /** A shared lock (many holders) instead of an exclusive one. */
  shared?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Error code and hint when the wait times out (default CONTAINER_LOCKED). */
  busyCode?: DevenvErrorCode;
  busyHint?: string;
}

function heldLock(fd: number): FileLock {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      closeSync(fd); // the lock goes with the last fd of this open file description
    },
  };
}

/**
 * Take the lock on `path` (created if needed) without waiting: undefined when someone holds a conflicting one.
 * flock locks belong to open file descriptions, so two callers in one process conflict as two processes do.
 */
export function tryLockFile(path: string, shared = false): FileLock | undefined {
  const fd = openSync(path, 'a', 0o600);
  let locked = false;
  try {
    locked = loadAddon().flock(fd, !shared, true);
  } finally {
    if (!locked) closeSync(fd);
  }
  return locked ? heldLock(fd) : undefined;
}

/** Wait (polling, so the event loop keeps running) for the lock, up to `timeoutMs` (default 30 s). */
export async function acquireFileLock(path: string, options: LockOptions): Promise<FileLock> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let delay = 5;
  for (;;) {
    const lock = tryLockFile(path, options.shared ?? false);
    if (lock) return lock;
    options.signal?.throwIfAborted();
    if (Date.now() > deadline) {
      throw new DevenvError(options.busyCode ?? 'CONTAINER_LOCKED', `${options.what} is busy: another devenv command holds its lock`, {
        hint: options.busyHint ?? 'Wait for the other command to finish, then retry.',
      });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
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
