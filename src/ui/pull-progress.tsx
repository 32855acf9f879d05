import type { LayerProgressEvent, LayerStatus, PullProgressEvent } from '../services/image/pull.js';

/** How to show a pull: ink rows (terminal), one line per layer change (pipe), JSON lines on stderr (--json), nothing. */
export type PullProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

/** Receives a pull's events; `stop` draws the final state and releases the terminal. */
export interface PullProgressReporter {
  onProgress(event: PullProgressEvent): void;
  stop(): Promise<void>;
}

/** One layer as shown. */
export interface LayerRow {
  digest: string;
  status: LayerStatus;
  done: number;
  total: number;
  /** Bytes per second since the download started (undefined before there is a measure). */
  rate?: number;
  /** Seconds left at that rate. */
  eta?: number;
}

const STATUS_TEXT: Record<LayerStatus, string> = {
  waiting: 'Waiting',
  downloading: 'Downloading',
  verifying: 'Verifying Checksum',
  unpacking: 'Extracting',
  done: 'Pull complete',
  exists: 'Already exists',
};

/** Decimal units, as Docker prints sizes: `512B`, `12.3kB`, `45.6MB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value}B` : `${value.toFixed(value < 10 ? 2 : 1)}${units[unit]}`;
}

/** `7s`, `1m05s`, `2h03m`. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The layers of a pull as the events describe them, with download rates; pure apart from the clock passed in. */
export class PullProgressModel {
  header: string | undefined;
  private readonly rows = new Map<string, LayerRow & { startedAt?: number; startBytes?: number }>();

  /** Apply an event; true when a layer changed status (what the plain mode prints). */
  apply(event: PullProgressEvent, now: number): boolean {
    if (event.type === 'resolved') {
      this.header = `Pulling ${event.reference} (${event.layers} layer${event.layers === 1 ? '' : 's'}, manifest ${event.manifestDigest.slice(7, 19)})`;
      return false;
    }
    const row = this.rows.get(event.digest);
    const changed = row?.status !== event.status;
    const next = { ...(row ?? {}), digest: event.digest, status: event.status, done: event.done, total: event.total };
    if (event.status === 'downloading') {
      next.startedAt ??= now;
      next.startBytes ??= event.done;
      const seconds = (now - next.startedAt) / 1000;
      if (seconds >= 0.5 && event.done > next.startBytes) {
        next.rate = (event.done - next.startBytes) / seconds;
        next.eta = (event.total - event.done) / next.rate;
      }
    } else {
      delete next.eta;
    }
    this.rows.set(event.digest, next);
    return changed;
  }

  list(): LayerRow[] {
    return [...this.rows.values()];
  }
}

/** `a1b2c3d4e5f6: Downloading [====>      ] 12.3MB/45.6MB 5.10MB/s ETA 6s` */
export function formatLayerRow(row: LayerRow, width = 30): string {
  const id = row.digest.replace(/^sha256:/, '').slice(0, 12);
  const text = STATUS_TEXT[row.status];
  if (row.status !== 'downloading' && row.status !== 'verifying') return `${id}: ${text}`;
  const fraction = row.total > 0 ? Math.min(1, row.done / row.total) : 0;
  const filled = Math.floor(fraction * width);
  const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}]`;
  const rate = row.rate !== undefined ? ` ${formatBytes(row.rate)}/s` : '';
  const eta = row.eta !== undefined && row.status === 'downloading' ? ` ETA ${formatEta(row.eta)}` : '';
  return `${id}: ${text} ${bar} ${formatBytes(row.done)}/${formatBytes(row.total)}${rate}${eta}`;
}

interface Streams {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

function plainReporter(out: NodeJS.WriteStream): PullProgressReporter {
  const model = new PullProgressModel();
  return {
    onProgress(event) {
      const before = model.header;
      const changed = model.apply(event, Date.now());
      if (model.header !== before && model.header) out.write(`${model.header}\n`);
      if (changed && event.type === 'layer') out.write(`${formatLayerRow({ ...event })}\n`);
    },
    async stop() {},
  };
}

async function inkReporter(out: NodeJS.WriteStream): Promise<PullProgressReporter> {
  // Only pulls that draw pay for ink and React; built with createElement so that this module itself loads neither
  // (`image ls` uses its formatters).
  const [{ render, Box, Text }, { createElement: h }] = await Promise.all([import('ink'), import('react')]);
  const model = new PullProgressModel();
  const view = () =>
    h(
      Box,
      { flexDirection: 'column' },
      model.header !== undefined ? h(Text, { bold: true }, model.header) : null,
      ...model.list().map((row) =>
        h(Text, { key: row.digest, ...(row.status === 'done' || row.status === 'exists' ? { color: 'green' } : {}) }, formatLayerRow(row)),
      ),
    );
  const instance = render(view(), { stdout: out, patchConsole: false });
  let timer: NodeJS.Timeout | undefined;
  const draw = (): void => {
    timer = undefined;
    instance.rerender(view());
  };
  return {
    onProgress(event) {
      model.apply(event, Date.now());
      timer ??= setTimeout(draw, 80);
    },
    async stop() {
      if (timer) clearTimeout(timer);
      draw();
      // waitUntilExit() must be asked before unmount(): asked after, its promise never settles.
      const exited = instance.waitUntilExit();
      instance.unmount();
      await exited;
    },
  };
}

/** A reporter for `mode`; ink is imported only for `tty`. */
export async function createPullProgressReporter(mode: PullProgressMode, streams: Streams = { stdout: process.stdout, stderr: process.stderr }): Promise<PullProgressReporter> {
  switch (mode) {
    case 'tty':
      return inkReporter(streams.stdout);
    case 'plain':
      return plainReporter(streams.stdout);
    case 'json':
      return {
        onProgress: (event: PullProgressEvent | LayerProgressEvent) => streams.stderr.write(`${JSON.stringify(event)}\n`),
        async stop() {},
      };
    default:
      return { onProgress() {}, async stop() {} };
  }
}
