import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';

import { DevenvError } from '../errors.js';
import { runtimeBinary } from './native.js';

/** One JSON line the native runtime writes on its sync fd (docs/runtime-contract.md). */
export type RuntimeMessage =
  | { type: 'warning'; message: string }
  | { type: 'started'; pid: number }
  | { type: 'exited'; exitCode: number; signal: string | null; oomKilled: boolean; finishedAt?: string }
  | { type: 'error'; code: string; errno: number; syscall?: string; path?: string; message: string; exitCode: number };

export interface RuntimeLaunch {
  /** The started process's pid (the container's init for `run`). */
  pid: number;
  warnings: string[];
  /** Resolves with the runtime's exit code (for attached runs: the container's). */
  exited: Promise<number>;
  /** Attached `run`: how the container ended, as the runtime reported it before any autoRemove (set once `exited` resolved). */
  exit?: { exitCode: number; signal: string | null; oomKilled: boolean; finishedAt?: string };
  child: ChildProcess;
}

export interface RuntimeLaunchOptions {
  /** What we are doing, for error messages ("start container `web`"). */
  operation: string;
  attached: boolean;
}

/** Turn the runtime's errno-shaped error into a DevenvError (by code and exit code, never by message text). */
export function runtimeErrorToDevenvError(operation: string, m: Extract<RuntimeMessage, { type: 'error' }>): DevenvError {
  const where = m.path ? ` (${m.path})` : '';
  if (m.exitCode === 127) {
    return new DevenvError('CONTAINER_EXEC_NOT_FOUND', `${operation}: ${m.message}`, {
      exitCode: 127,
      hint: 'Check the command name and the PATH inside the container.',
    });
  }
  if (m.exitCode === 126) {
    return new DevenvError('CONTAINER_EXEC_DENIED', `${operation}: ${m.message}`, {
      exitCode: 126,
      hint: 'The file exists but cannot be executed: check its mode and format.',
    });
  }
  const permission = m.code === 'EPERM' || m.code === 'EACCES';
  return new DevenvError(permission ? 'RUNTIME_PERMISSION' : 'RUNTIME_SETUP', `${operation}: ${m.message}${m.message.includes(m.path ?? '\0') ? '' : where}`, {
    kind: 'external',
    exitCode: 125,
    hint: permission ? 'Run `devenv doctor` to see which kernel feature or permission is missing.' : undefined,
  });
}

/** Read JSON lines from the sync fd; `onMessage` sees each one, `done` resolves at EOF. */
function readMessages(stream: Readable, onMessage: (m: RuntimeMessage) => void): Promise<void> {
  return new Promise((resolve) => {
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        try {
          onMessage(JSON.parse(line) as RuntimeMessage);
        } catch {
          onMessage({ type: 'warning', message: `runtime: ${line}` });
        }
      }
    });
    stream.on('end', () => resolve());
    stream.on('error', () => resolve());
  });
}

/**
 * Launch `devenv-runtime <args> --sync-fd 3` and wait until it reports `started` or `error`.
 * Attached: the runtime shares our stdio and its exit code is the container's. Detached: it forks away and
 * its first process exits at once.
 */
export async function launchRuntime(args: string[], options: RuntimeLaunchOptions): Promise<RuntimeLaunch> {
  const stdio: StdioOptions = options.attached ? ['inherit', 'inherit', 'inherit', 'pipe'] : ['ignore', 'ignore', 'pipe', 'pipe'];
  const child = spawn(runtimeBinary(), [...args, '--sync-fd', '3'], { stdio });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (signalNumber(signal) ?? 0) : 0)));
  });
  const warnings: string[] = [];
  let stderr = '';
  if (!options.attached) child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let outcome: RuntimeMessage | undefined;
  let exit: RuntimeLaunch['exit'];
  let settle: (() => void) | undefined;
  const decided = new Promise<void>((resolve) => (settle = resolve));
  // The runtime reports started/error and (attached run) later exited, then closes the fd.
  const done = readMessages(child.stdio[3] as Readable, (m) => {
    if (m.type === 'warning') warnings.push(m.message);
    else if (m.type === 'exited') exit = { exitCode: m.exitCode, signal: m.signal, oomKilled: m.oomKilled, ...(m.finishedAt ? { finishedAt: m.finishedAt } : {}) };
    else if (!outcome) {
      outcome = m;
      settle?.();
    }
  });
  await Promise.race([decided, done]);
  if (!outcome) {
    const code = await exited.catch(() => -1);
    throw new DevenvError('RUNTIME_SETUP', `${options.operation}: the runtime exited (${code}) without reporting${stderr ? `: ${stderr.trim()}` : ''}`, {
      kind: 'bug',
      exitCode: 125,
    });
  }
  if (outcome.type === 'error') {
    await exited.catch(() => undefined);
    throw runtimeErrorToDevenvError(options.operation, outcome);
  }
  if (outcome.type !== 'started') throw new DevenvError('INTERNAL', `${options.operation}: unexpected runtime message`);
  const launch: RuntimeLaunch = {
    pid: outcome.pid,
    warnings,
    child,
    exited: Promise.all([exited, done]).then(([code]) => {
      if (exit) launch.exit = exit;
      return code;
    }),
  };
  return launch;
}

function signalNumber(name: NodeJS.Signals): number | undefined {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 };
  return table[name];
}
