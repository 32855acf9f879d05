import { closeSync, readSync } from 'node:fs';

import { DevenvError } from '../errors.js';
import { loadAddon, runtimeBinary } from './native.js';

/** One JSON line the native runtime writes on its sync fd (docs/runtime-contract.md). */
export type RuntimeMessage =
  | { type: 'warning'; message: string }
  | { type: 'started'; pid: number }
  | { type: 'exited'; exitCode: number; signal: string | null; oomKilled: boolean; finishedAt?: string }
  | { type: 'error'; code: string; errno: number; syscall?: string; path?: string; message: string; exitCode: number };

export type RuntimeExit = Omit<Extract<RuntimeMessage, { type: 'exited' }>, 'type'>;

export interface RuntimeLaunch {
  /** The started process's pid (the container's init for `run`, the command for `exec`). */
  pid: number;
  warnings: string[];
  /**
   * Attached only: block until the runtime ends; its exit code (the container's or the command's) and, for
   * `run`, how the container ended as the runtime reported it before any autoRemove.
   */
  wait(): { code: number; exit?: RuntimeExit };
}

export interface RuntimeLaunchOptions {
  /** What we are doing, for error messages ("start container `web`"). */
  operation: string;
  attached: boolean;
}

/** Turn the runtime's errno-shaped error into a DevenvError (by code and exit code, never by message text). */
export function runtimeErrorToDevenvError(operation: string, m: Extract<RuntimeMessage, { type: 'error' }>): DevenvError {
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
  if (m.code === 'EADDRINUSE') {
    return new DevenvError('PORT_IN_USE', `${operation}: ${m.message}`, {
      exitCode: 125,
      hint: 'Stop what uses that host port, publish on another one, or let devenv choose a free one (no requireLocalPort, or `-p CONTAINER_PORT`).',
    });
  }
  if (m.syscall === 'slirp4netns') {
    // The egress helper of the private network (native/src/network.c reports it as the failing call).
    return new DevenvError('NETWORK_SETUP', `${operation}: ${m.message}`, {
      kind: 'external',
      exitCode: 125,
      hint: 'Check that slirp4netns works here (`devenv doctor`), or run the container without it: `--network host` (the host\'s network) or `--network none`.',
    });
  }
  const permission = m.code === 'EPERM' || m.code === 'EACCES';
  const where = m.path && !m.message.includes(m.path) ? ` (${m.path})` : '';
  return new DevenvError(permission ? 'RUNTIME_PERMISSION' : 'RUNTIME_SETUP', `${operation}: ${m.message}${where}`, {
    kind: 'external',
    exitCode: 125,
    hint: permission ? 'Run `devenv doctor` to see which kernel feature or permission is missing.' : undefined,
  });
}

/** Blocking line reader over the sync pipe: the CLI has nothing else to do while the runtime works. */
class SyncFdReader {
  private buffer = '';
  private eof = false;
  private readonly chunk = Buffer.alloc(16 * 1024);

  constructor(private readonly fd: number) {}

  /** The next message, or undefined at end of file. */
  next(): RuntimeMessage | undefined {
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl !== -1) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        try {
          return JSON.parse(line) as RuntimeMessage;
        } catch {
          return { type: 'warning', message: `runtime: ${line}` };
        }
      }
      if (this.eof) return undefined;
      let n: number;
      try {
        n = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EINTR' || (error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw error;
      }
      if (n === 0) this.eof = true;
      else this.buffer += this.chunk.toString('utf8', 0, n);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Start `devenv-runtime <args> --sync-fd 3` and wait until it reports `started` or `error`. Synchronous on
 * purpose: Node's child_process and event loop cost more than the container start itself. Attached, the
 * runtime shares our stdio; detached, it forks away and its first process exits at once.
 */
export function launchRuntime(args: string[], options: RuntimeLaunchOptions): RuntimeLaunch {
  const addon = loadAddon();
  const { pid, syncFd } = addon.spawnWithSync(runtimeBinary(), [...args, '--sync-fd', '3'], options.attached);
  const reader = new SyncFdReader(syncFd);
  const warnings: string[] = [];
  let outcome: RuntimeMessage | undefined;
  try {
    for (let m = reader.next(); m; m = reader.next()) {
      if (m.type === 'warning') warnings.push(m.message);
      else if (m.type !== 'exited') {
        outcome = m;
        break;
      }
    }
  } catch (error) {
    reader.close();
    throw error;
  }
  const finish = (): void => {
    reader.close();
  };
  if (!outcome || outcome.type !== 'started') {
    finish();
    const code = addon.waitExit(pid);
    if (!outcome) {
      throw new DevenvError('RUNTIME_SETUP', `${options.operation}: the runtime exited (${code}) without reporting`, { kind: 'bug', exitCode: 125 });
    }
    if (outcome.type === 'error') throw runtimeErrorToDevenvError(options.operation, outcome);
    throw new DevenvError('INTERNAL', `${options.operation}: unexpected runtime message \`${outcome.type}\``);
  }
  if (!options.attached) {
    // Detached: the first process exits right after forking the monitor; reap it.
    finish();
    addon.waitExit(pid);
  }
  return {
    pid: outcome.pid,
    warnings,
    wait() {
      let exit: RuntimeExit | undefined;
      if (options.attached) {
        for (let m = reader.next(); m; m = reader.next()) {
          if (m.type === 'exited') exit = { exitCode: m.exitCode, signal: m.signal, oomKilled: m.oomKilled, ...(m.finishedAt ? { finishedAt: m.finishedAt } : {}) };
        }
        finish();
      }
      const code = addon.waitExit(pid);
      return { code, ...(exit ? { exit } : {}) };
    },
  };
}
