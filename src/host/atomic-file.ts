import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

let counter = 0;

export interface AtomicWriteOptions {
  mode?: number;
  /** fsync before the rename, so the content survives a power loss (records); not needed for files rebuilt each time. */
  durable?: boolean;
}

/** Write a file so readers see the old or the new content, never a part: temp file, (fsync,) rename. */
export function writeFileAtomic(path: string, data: string, options: AtomicWriteOptions = {}): void {
  const tmp = `${path}.tmp-${process.pid}-${(counter += 1)}`;
  const fd = openSync(tmp, 'w', options.mode ?? 0o644);
  try {
    writeSync(fd, data);
    if (options.durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function writeJsonAtomic(path: string, value: unknown, options: AtomicWriteOptions = {}): void {
  writeFileAtomic(path, `${JSON.stringify(value)}\n`, options);
}
