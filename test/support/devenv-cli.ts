import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
export const DEVENV_BIN = join(REPO_ROOT, 'bin', 'devenv');

/** Who runs the command: root, or the non-root test user that .ci/run creates (rootless paths). */
export type Mode = 'root' | 'rootless';

export function testUser(): string {
  return process.env.DEVENV_TEST_USER ?? 'devenvci';
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  mode: Mode;
  root: string;
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

function command(mode: Mode, args: string[], env: Record<string, string>): { file: string; argv: string[] } {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  if (mode === 'root') return { file: 'env', argv: [...envArgs, process.execPath, DEVENV_BIN, ...args] };
  return { file: 'runuser', argv: ['-u', testUser(), '--', 'env', ...envArgs, process.execPath, DEVENV_BIN, ...args] };
}

/** Run bin/devenv as a user would, synchronously; never throws on a non-zero exit. */
export function devenv(args: string[], options: CliOptions): CliResult {
  const env = { DEVENV_ROOT: options.root, ...(options.env ?? {}) };
  const { file, argv } = command(options.mode, args, env);
  const r = spawnSync(file, argv, {
    encoding: 'utf8',
    input: options.input ?? '',
    timeout: options.timeoutMs ?? 60_000,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
  });
  return { code: r.status ?? (r.signal ? 128 : -1), stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Start bin/devenv in the background (for kill -9 tests); returns the child process. */
export function devenvSpawn(args: string[], options: CliOptions) {
  const env = { DEVENV_ROOT: options.root, ...(options.env ?? {}) };
  const { file, argv } = command(options.mode, args, env);
  return spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
}

export function uidOf(user: string): number {
  const r = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`test user \`${user}\` does not exist: run \`bash .ci/run\` (as root) to prepare this machine`);
  return Number(r.stdout.trim());
}

/**
 * Run bin/devenv as a user would without blocking the test worker (long pulls, removals): vitest's worker must
 * keep answering its runner while a command runs for tens of seconds.
 */
export function devenvAsync(args: string[], options: CliOptions): Promise<CliResult> {
  const child = devenvSpawn(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
}
