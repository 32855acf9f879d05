import { spawn } from 'node:child_process';
import { closeSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import tty from 'node:tty';

import { DevenvError } from '../../errors.js';
import { writeJsonAtomic } from '../../host/atomic-file.js';
import { randomHex } from '../../host/random-id.js';
import { bundleDir, type ContainerRecord } from '../../runtime/container-store.js';
import { loadAddon, runtimeBinary } from '../../runtime/native.js';
import { runtimeErrorToDevenvError, type RuntimeMessage } from '../../runtime/runtime-process.js';
import type { ServiceContext } from '../service-context.js';
import { buildExecProcess, type ExecOptions } from './exec.js';

/** A terminal for a streamed exec: its initial size and TERM. */
export interface StreamPty {
  rows: number;
  cols: number;
  term?: string;
}

export interface StreamExecOptions extends Pick<ExecOptions, 'command' | 'env' | 'user' | 'workdir'> {
  /** Run the command on a pseudo-terminal (stdout carries both streams; no stderr). */
  pty?: StreamPty;
}

/**
 * A command running in a container with every stream ours (devenv ssh's sessions): stdin, stdout and stderr are
 * pipes, or one host pseudo-terminal the runtime relays to the container's when `pty` was asked.
 */
export interface StreamExec {
  /** The runtime's pid (the command runs as its child in the container). */
  pid: number;
  warnings: string[];
  stdin: Writable;
  stdout: Readable;
  /** Absent with a pty. */
  stderr?: Readable;
  /** New terminal size (no-op without a pty). */
  resize(rows: number, cols: number): void;
  /**
   * Send a signal: the runtime forwards INT, TERM, HUP, QUIT, USR1 and USR2 to the command; other signals (KILL,
   * STOP…) go to the runtime's whole process group, which holds the command and, without a pty, its children.
   */
  signal(name: NodeJS.Signals): void;
  /** As a hung-up terminal does: SIGHUP to the command and (its process group) the processes it started. */
  hangup(): void;
  /** The command's exit code (128+N when signal N killed it), once it ended and its output was read. */
  exited: Promise<number>;
}

const FORWARDED = new Set<NodeJS.Signals>(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']);
/** After the command ends, how long to wait for the rest of its output (a background child may hold the pipe). */
const DRAIN_MS = 500;

function readLines(stream: Readable, onLine: (line: string) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    buffer += text;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) onLine(line);
    }
  });
}

function onceEnded(stream: Readable | undefined): Promise<void> {
  if (!stream || stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

/**
 * Run a command in a running container with piped stdio or a pty (execInContainer shares our own stdio;
 * execPiped has no stdin). The runtime runs in its own process group so `hangup` reaches what the command
 * started. Resolves once the runtime reports `started`.
 */
export async function execStream(ctx: ServiceContext, record: ContainerRecord, options: StreamExecOptions): Promise<StreamExec> {
  const dir = bundleDir(ctx.root, record.id);
  const processFile = join(dir, `exec-${randomHex(6)}.json`);
  const tty_ = options.pty !== undefined;
  const env = options.pty ? [...options.env, `TERM=${options.pty.term || 'xterm'}`] : options.env;
  const full: ExecOptions = { ...options, env, interactive: true, tty: tty_, detach: false, envFiles: [], privileged: false };
  writeJsonAtomic(processFile, buildExecProcess(record, full, {}));
  const addon = tty_ ? loadAddon() : undefined;
  const pty = options.pty && addon ? addon.openHostPty(options.pty.rows, options.pty.cols) : undefined;
  const operation = `exec in container \`${record.name}\``;
  let child;
  try {
    child = spawn(runtimeBinary(), ['exec', '--bundle', dir, '--process', processFile, '--sync-fd', '3'], {
      stdio: pty ? [pty.slave, pty.slave, pty.slave, 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
  } finally {
    if (pty) closeSync(pty.slave);
  }
  const runtime = child;
  let master: tty.ReadStream | undefined;
  if (pty) {
    master = new tty.ReadStream(pty.master);
    // A pty master's read fails with EIO once every slave is closed: that is its end of file.
    master.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EIO') ctx.logger.debug?.(`pty: ${e.message}`);
      master?.push(null);
    });
  }
  const warnings: string[] = [];
  let ended = false; // once reaped, the runtime's pid may be reused: signal only its process group then
  const exitCode = new Promise<number>((resolve, reject) => {
    runtime.on('error', reject);
    runtime.on('exit', (code, signal) => {
      ended = true;
      resolve(code ?? (signal ? 128 + (loadSignalNumber(signal) ?? 1) : 1));
    });
  });
  const stdout = master ?? (runtime.stdout as Readable);
  const stderr = master ? undefined : (runtime.stderr as Readable);
  const exited = exitCode.then(async (code) => {
    const drained = Promise.all([onceEnded(stdout), onceEnded(stderr)]);
    await Promise.race([drained, new Promise((r) => setTimeout(r, DRAIN_MS).unref())]);
    rmSync(processFile, { force: true });
    return code;
  });
  const started = new Promise<number>((resolve, reject) => {
    let settled = false;
    readLines(runtime.stdio[3] as Readable, (line) => {
      let m: RuntimeMessage;
      try {
        m = JSON.parse(line) as RuntimeMessage;
      } catch {
        warnings.push(`runtime: ${line}`);
        return;
      }
      if (m.type === 'warning') warnings.push(m.message);
      else if (!settled && m.type === 'started') {
        settled = true;
        resolve(m.pid);
      } else if (!settled && m.type === 'error') {
        settled = true;
        reject(runtimeErrorToDevenvError(operation, m));
      }
    });
    exitCode.then(
      (code) => {
        if (!settled) reject(new DevenvError('RUNTIME_SETUP', `${operation}: the runtime exited (${code}) without reporting`, { kind: 'bug', exitCode: 125 }));
      },
      (error: unknown) => {
        if (!settled) reject(new DevenvError('RUNTIME_NOT_BUILT', `${operation}: cannot start the runtime: ${(error as Error).message}`, { kind: 'bug' }));
      },
    );
  });
  try {
    await started;
  } catch (error) {
    master?.destroy();
    rmSync(processFile, { force: true });
    throw error;
  }
  const pid = runtime.pid as number;
  const kill = (target: number, name: NodeJS.Signals): void => {
    try {
      process.kill(target, name);
    } catch {
      // already gone
    }
  };
  return {
    pid,
    warnings,
    stdin: master ?? (runtime.stdin as Writable),
    stdout,
    ...(stderr ? { stderr } : {}),
    resize(rows, cols) {
      if (!pty || !addon || master?.destroyed) return;
      try {
        addon.setWinsize(pty.master, rows, cols);
      } catch {
        return;
      }
      if (!ended) kill(pid, 'SIGWINCH'); // the runtime copies its stdin's size to the container's pty on SIGWINCH
    },
    signal(name) {
      if (FORWARDED.has(name) && !ended) kill(pid, name);
      else kill(-pid, name);
    },
    hangup() {
      if (!ended) kill(pid, 'SIGHUP');
      if (!pty) kill(-pid, 'SIGHUP');
      runtime.stdin?.destroy();
    },
    exited,
  };
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGPIPE: 13, SIGTERM: 15 };

function loadSignalNumber(name: NodeJS.Signals): number | undefined {
  return SIGNAL_NUMBERS[name];
}
