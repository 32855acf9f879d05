import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

import { DevenvError } from '../errors.js';
import { runtimeBinary } from './native.js';
import { runtimeErrorToDevenvError, type RuntimeMessage } from './runtime-process.js';

/** Output streams of a piped runtime launch. */
export interface PipedIo {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /** Aborting sends SIGTERM to the runtime, which forwards it to the command. */
  signal?: AbortSignal;
}

export interface PipedRun {
  pid: number;
  warnings: string[];
  /** The command's exit code (128+N when killed by signal N). */
  exited: Promise<number>;
}

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

/**
 * Start `devenv-runtime <args>` with its stdout and stderr piped to us (lifecycle hooks, env probes), unlike
 * launchRuntime which shares our stdio on the hot path. Resolves once the runtime reports `started`; rejects
 * with the runtime's error otherwise. Stdin is /dev/null.
 */
export function launchRuntimePiped(args: string[], operation: string, io: PipedIo): Promise<PipedRun> {
  const child = spawn(runtimeBinary(), [...args, '--sync-fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const warnings: string[] = [];
  child.stdout?.on('data', (c: Buffer) => io.onStdout(c));
  child.stderr?.on('data', (c: Buffer) => io.onStderr(c));
  const closed = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1)));
  });
  const onAbort = (): void => {
    child.kill('SIGTERM');
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  void closed.finally(() => io.signal?.removeEventListener('abort', onAbort)).catch(() => undefined);
  return new Promise<PipedRun>((resolve, reject) => {
    let settled = false;
    readLines(child.stdio[3] as Readable, (line) => {
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
        resolve({ pid: m.pid, warnings, exited: closed });
      } else if (!settled && m.type === 'error') {
        settled = true;
        reject(runtimeErrorToDevenvError(operation, m));
      }
    });
    closed.then(
      (code) => {
        if (!settled) {
          settled = true;
          reject(new DevenvError('RUNTIME_SETUP', `${operation}: the runtime exited (${code}) without reporting`, { kind: 'bug', exitCode: 125 }));
        }
      },
      (error: unknown) => {
        if (!settled) {
          settled = true;
          reject(new DevenvError('RUNTIME_NOT_BUILT', `${operation}: cannot start the runtime: ${(error as Error).message}`, { kind: 'bug' }));
        }
      },
    );
  });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

function signalNumber(name: string): number | undefined {
  return SIGNALS[name];
}
