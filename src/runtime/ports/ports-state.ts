import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { PortProtocol, PortSource } from './port-spec.js';

/** One forward in place, as the monitor writes it in `<bundle>/ports.json` and answers on ports.sock. */
export interface PortForward {
  containerPort: number;
  /** The first address listened on (127.0.0.1 by default). */
  hostIp: string;
  /** Every address listened on (127.0.0.1 and ::1 by default). */
  hostIps: string[];
  hostPort: number;
  protocol: PortProtocol;
  source: PortSource;
  label?: string;
  requireLocalPort?: boolean;
  /** When the forward was put in place (ISO-8601). */
  since: string;
}

/** `<bundle>/ports.json`: the live forwards of a running container's monitor. */
export interface PortsFile {
  monitorPid: number;
  forwards: PortForward[];
  autoForward: { enabled: boolean };
  control: string;
}

/** One line of `<bundle>/ports.log`. */
export interface PortEvent {
  time: string;
  event: 'forwarded' | 'removed' | 'failed';
  containerPort?: number;
  hostIp?: string;
  hostIps?: string[];
  hostPort?: number;
  protocol?: PortProtocol;
  source?: PortSource;
  label?: string;
  /** errno name for `failed` (EADDRINUSE, EMFILE …). */
  code?: string;
  /** Why: a chosen other host port, the listener that went away, the failure. */
  message?: string;
}

/** Read ports.json; undefined when absent or unreadable (no monitor, or not written yet). */
export function readPortsFile(bundle: string): PortsFile | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(bundle, 'ports.json'), 'utf8')) as PortsFile;
    return Array.isArray(parsed.forwards) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The events appended to ports.log from byte `offset` on (0: all), and the offset to continue from. Only whole
 * lines are returned. After a rotation (the file is shorter than offset) reading starts over.
 */
export function readPortEvents(bundle: string, offset = 0): { events: PortEvent[]; offset: number } {
  const path = join(bundle, 'ports.log');
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return { events: [], offset: 0 };
  }
  const from = offset > size ? 0 : offset;
  if (size === from) return { events: [], offset: from };
  const fd = openSync(path, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(size - from);
    const n = readSync(fd, buf, 0, buf.length, from);
    text = buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
  const end = text.lastIndexOf('\n') + 1;
  const events: PortEvent[] = [];
  for (const line of text.slice(0, end).split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as PortEvent);
    } catch {
      // a line we cannot read is skipped, never fatal
    }
  }
  return { events, offset: from + Buffer.byteLength(text.slice(0, end)) };
}
