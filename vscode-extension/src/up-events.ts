/**
 * The `devenv up --json` protocol (docs/devenv-up.md): a result object on stdout, one JSON event per line on
 * stderr. Pure (no `vscode` import).
 */

/** One event `devenv up --json` writes to stderr. Unknown types are kept as `other`. */
export type UpEvent =
  | { type: 'progress'; message: string }
  | { type: 'warning'; message: string }
  | { type: 'output'; stream: string; text: string }
  | { type: 'hook'; hook: string; name?: string; state: string; exitCode?: number }
  | { type: 'ready' }
  | { type: 'resolved'; reference: string; layers: number }
  | { type: 'layer'; digest: string; total: number; done: number; status: string }
  | { type: 'other'; raw: Record<string, unknown> }
  | { type: 'text'; text: string };

/** The success result of `devenv up --json` (stdout). */
export interface UpSuccess {
  outcome: 'success';
  containerId: string;
  containerName: string;
  remoteUser: string;
  remoteWorkspaceFolder: string;
  workspaceFolder?: string;
  configFile?: string;
  action?: 'created' | 'started' | 'running';
  configChanged?: boolean;
}

/** The error result every `devenv … --json` command prints on stdout. */
export interface CliFailure {
  outcome: 'error';
  code: string;
  message: string;
  hint?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Parse one stderr line; lines that are not JSON objects (a crash's stack, a stray print) become `text`. */
export function parseUpEvent(line: string): UpEvent | undefined {
  const trimmed = line.trim();
  if (trimmed === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return { type: 'text', text: line };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { type: 'text', text: line };
  const o = value as Record<string, unknown>;
  switch (o.type) {
    case 'progress':
    case 'warning':
      return { type: o.type, message: str(o.message) ?? '' };
    case 'output':
      return { type: 'output', stream: str(o.stream) ?? 'stdout', text: str(o.text) ?? '' };
    case 'hook':
      return {
        type: 'hook',
        hook: str(o.hook) ?? '',
        state: str(o.state) ?? '',
        ...(str(o.name) !== undefined ? { name: str(o.name) } : {}),
        ...(typeof o.exitCode === 'number' ? { exitCode: o.exitCode } : {}),
      };
    case 'ready':
      return { type: 'ready' };
    case 'resolved':
      return { type: 'resolved', reference: str(o.reference) ?? '', layers: typeof o.layers === 'number' ? o.layers : 0 };
    case 'layer':
      return {
        type: 'layer',
        digest: str(o.digest) ?? '',
        total: typeof o.total === 'number' ? o.total : 0,
        done: typeof o.done === 'number' ? o.done : 0,
        status: str(o.status) ?? '',
      };
    default:
      return { type: 'other', raw: o };
  }
}

/** Splits a byte stream into lines (for a child's stderr). */
export class LineSplitter {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    const parts = (this.rest + chunk).split('\n');
    this.rest = parts.pop() ?? '';
    for (const p of parts) this.onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
  }
  end(): void {
    if (this.rest !== '') this.onLine(this.rest);
    this.rest = '';
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** What a progress notification should say for an event, or undefined when the event does not change it. */
export function progressMessageOf(event: UpEvent): string | undefined {
  switch (event.type) {
    case 'progress':
      return event.message;
    case 'hook':
      if (event.state === 'started') return `Running ${event.hook}${event.name ? ` (${event.name})` : ''}`;
      return undefined;
    case 'ready':
      return 'Container ready';
    case 'resolved':
      return `Pulling ${event.reference} (${event.layers} layer${event.layers === 1 ? '' : 's'})`;
    case 'layer': {
      const short = event.digest.replace(/^sha256:/, '').slice(0, 12);
      const amount = event.status === 'downloading' && event.total > 0 ? ` ${formatBytes(event.done)} / ${formatBytes(event.total)}` : '';
      return `Layer ${short}: ${event.status}${amount}`;
    }
    default:
      return undefined;
  }
}

/** The line an event adds to the log output channel; undefined for byte-count updates (they would flood it). */
export function logLineOf(event: UpEvent): string | undefined {
  switch (event.type) {
    case 'progress':
      return `› ${event.message}`;
    case 'warning':
      return `warning: ${event.message}`;
    case 'output':
      return event.text.replace(/\n$/, '');
    case 'hook':
      return `[${event.hook}${event.name ? ` ${event.name}` : ''}] ${event.state}${event.exitCode !== undefined ? ` (exit ${event.exitCode})` : ''}`;
    case 'ready':
      return '› ready';
    case 'resolved':
      return `› pulling ${event.reference}: ${event.layers} layers`;
    case 'layer':
      if (event.status === 'downloading') return undefined;
      return `  layer ${event.digest.replace(/^sha256:/, '').slice(0, 12)} ${event.status} ${formatBytes(event.done)}/${formatBytes(event.total)}`;
    case 'other':
      return JSON.stringify(event.raw);
    case 'text':
      return event.text;
  }
}

/**
 * Parse the stdout of a `devenv … --json` command that prints one result object: the object, or a CliFailure
 * (the CLI's own, or one made up when stdout holds no JSON).
 */
export function parseCliResult<T extends object>(stdout: string, exitCode: number, stderr = ''): T | CliFailure {
  const text = stdout.trim();
  let value: unknown;
  if (text !== '') {
    try {
      value = JSON.parse(text);
    } catch {
      // the last line may be the result when something printed before it
      const last = text.split('\n').pop() ?? '';
      try {
        value = JSON.parse(last);
      } catch {
        value = undefined;
      }
    }
  }
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.outcome === 'error') {
      return { outcome: 'error', code: str(o.code) ?? 'UNKNOWN', message: str(o.message) ?? 'devenv failed', ...(str(o.hint) ? { hint: str(o.hint) } : {}) };
    }
    if (exitCode === 0) return value as T;
  }
  const lastErr = stderr.trim().split('\n').filter((l) => l.trim() !== '' && parseUpEvent(l)?.type === 'text').pop();
  return { outcome: 'error', code: 'CLI_FAILED', message: lastErr ?? `devenv exited with code ${exitCode}` };
}

export function isCliFailure(value: unknown): value is CliFailure {
  return value !== null && typeof value === 'object' && (value as { outcome?: unknown }).outcome === 'error';
}

/** Check that an `up` result has what opening the remote folder needs. */
export function parseUpResult(stdout: string, exitCode: number, stderr = ''): UpSuccess | CliFailure {
  const r = parseCliResult<Record<string, unknown>>(stdout, exitCode, stderr);
  if (isCliFailure(r)) return r;
  const name = str(r.containerName);
  const folder = str(r.remoteWorkspaceFolder);
  if (r.outcome !== 'success' || name === undefined || folder === undefined) {
    return { outcome: 'error', code: 'CLI_PROTOCOL', message: `devenv up printed an unexpected result: ${JSON.stringify(r).slice(0, 200)}` };
  }
  return r as unknown as UpSuccess;
}
