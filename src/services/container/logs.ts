import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { bundleDir, readContainerState, type ContainerRecord } from '../../runtime/container-store.js';
import type { ServiceContext } from '../service-context.js';

/** One record of the CRI log format the monitor writes: `<time> <stdout|stderr> <F|P> <text>`. */
export interface LogRecord {
  time: string;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  text: string;
}

export function parseLogLine(line: string): LogRecord | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  return { time: line.slice(0, a), stream, partial: tag === 'P', text: c < 0 ? '' : line.slice(c + 1) };
}

export interface LogsOptions {
  follow: boolean;
  timestamps: boolean;
  /** Only the last N lines (undefined: all). */
  tail?: number;
  write: (stream: 'stdout' | 'stderr', text: string) => void;
  /** Stop following when this resolves (Ctrl-C). */
  signal?: AbortSignal;
}

function render(r: LogRecord, timestamps: boolean): string {
  return `${timestamps ? `${r.time} ` : ''}${r.text}${r.partial ? '' : '\n'}`;
}

/** Print a container's log; with follow, keep printing until the container stops or the signal aborts. */
export async function showLogs(ctx: ServiceContext, record: ContainerRecord, options: LogsOptions): Promise<void> {
  const dir = bundleDir(ctx.root, record.id);
  const path = join(dir, 'ctr.log');
  let offset = 0;
  let pending = '';
  let first = true;
  const drain = (): void => {
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return;
    }
    if (size <= offset) return;
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      const n = readSync(fd, buf, 0, buf.length, offset);
      offset += n;
      pending += buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    let records = lines.map(parseLogLine).filter((r): r is LogRecord => r !== undefined);
    if (first && options.tail !== undefined) records = options.tail === 0 ? [] : records.slice(-options.tail);
    first = false;
    for (const r of records) options.write(r.stream, render(r, options.timestamps));
  };
  drain();
  if (!options.follow) return;
  while (!options.signal?.aborted) {
    const running = readContainerState(dir).status === 'running';
    await sleep(100);
    drain();
    if (!running) return;
  }
}
