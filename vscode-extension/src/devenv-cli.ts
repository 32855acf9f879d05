/**
 * The devenv CLI as the extension uses it: child processes only (`devenv … --json`), never devenv's own modules
 * or native code. No `vscode` import: the caller passes the CLI path and a log sink.
 */
import { spawn, type ChildProcess } from 'node:child_process';

import { parseEnvironments, type Environment } from './environments';
import { isCliFailure, LineSplitter, parseCliResult, parseUpEvent, parseUpResult, type CliFailure, type UpEvent, type UpSuccess } from './up-events';

/** What a finished command printed. */
export interface CliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** A failed devenv command, carrying the CLI's `{"outcome":"error"}` fields. */
export class DevenvCliError extends Error {
  constructor(
    readonly failure: CliFailure,
    readonly args: readonly string[],
  ) {
    super(failure.hint ? `${failure.message} (${failure.hint})` : failure.message);
    this.name = 'DevenvCliError';
  }
}

/** How to reach the CLI. */
export interface DevenvCliOptions {
  /** `devenv.path`: a command on PATH or an absolute path. */
  path: () => string;
  /** Gets every command line run and every stderr line, for the output channel. */
  log: (line: string) => void;
}

/** Shell-style quoting for the log only (the CLI is never run through a shell). */
function quote(arg: string): string {
  return /^[A-Za-z0-9_./:=+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export class DevenvCli {
  constructor(private readonly options: DevenvCliOptions) {}

  /** Start `devenv ARGS…` with pipes; the caller owns the process. */
  spawn(args: readonly string[], cwd?: string, env: Record<string, string> = {}): ChildProcess {
    const file = this.options.path() || 'devenv';
    this.options.log(`$ ${[file, ...args].map(quote).join(' ')}`);
    return spawn(file, [...args], { cwd, env: { ...process.env, FORCE_COLOR: '0', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** Run to the end and collect the output; rejects only when the CLI cannot be started. */
  run(args: readonly string[], options: { input?: string; onStderrLine?: (line: string) => void; cwd?: string; signal?: AbortSignal; env?: Record<string, string> } = {}): Promise<CliOutput> {
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = this.spawn(args, options.cwd, options.env);
      } catch (error) {
        reject(this.notFound(error));
        return;
      }
      let stdout = '';
      let stderr = '';
      const lines = new LineSplitter((line) => (options.onStderrLine ? options.onStderrLine(line) : this.options.log(line)));
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        lines.push(d);
      });
      child.once('error', (error) => reject(this.notFound(error)));
      const abort = (): void => void child.kill('SIGTERM');
      options.signal?.addEventListener('abort', abort, { once: true });
      child.once('close', () => options.signal?.removeEventListener('abort', abort));
      child.once('close', (code, signal) => {
        lines.end();
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input ?? '');
    });
  }

  private notFound(error: unknown): Error {
    const e = error as NodeJS.ErrnoException;
    if (e?.code === 'ENOENT') {
      return new DevenvCliError(
        { outcome: 'error', code: 'CLI_NOT_FOUND', message: `the devenv CLI \`${this.options.path()}\` was not found`, hint: 'install devenv or set the `devenv.path` setting' },
        [],
      );
    }
    return e instanceof Error ? e : new Error(String(error));
  }

  private async json<T extends object>(args: readonly string[]): Promise<T> {
    const out = await this.run(args);
    const result = parseCliResult<T>(out.stdout, out.code, out.stderr);
    if (isCliFailure(result)) throw new DevenvCliError(result, args);
    return result;
  }

  /** `devenv ps --json`. */
  async listEnvironments(): Promise<Environment[]> {
    const out = await this.run(['ps', '--json']);
    const result = parseCliResult<object>(out.stdout, out.code, out.stderr);
    if (isCliFailure(result)) throw new DevenvCliError(result, ['ps', '--json']);
    return parseEnvironments(out.stdout);
  }

  /** `devenv up --json`, events from stderr to `onEvent` as they come. */
  async up(workspaceFolder: string, options: { rebuild?: boolean; onEvent: (event: UpEvent) => void; signal?: AbortSignal }): Promise<UpSuccess> {
    const args = ['up', '--json', '--workspace-folder', workspaceFolder, ...(options.rebuild ? ['--rebuild'] : [])];
    const out = await this.run(args, {
      ...(options.signal ? { signal: options.signal } : {}),
      onStderrLine: (line) => {
        const event = parseUpEvent(line);
        if (event) options.onEvent(event);
      },
    });
    const result = parseUpResult(out.stdout, out.code, out.stderr);
    if (isCliFailure(result)) throw new DevenvCliError(result, args);
    return result;
  }

  /**
   * `devenv open --json`: up (events as with `up`), the ssh-config entry, and the URI. devenv would start `code`
   * for it (a new window); DEVENV_VSCODE=false stops that, so the extension reopens *this* window on the URI.
   */
  async open(workspaceFolder: string, options: { onEvent: (event: UpEvent) => void; signal?: AbortSignal }): Promise<{ uri: string; host: string }> {
    const args = ['open', '--json', '--workspace-folder', workspaceFolder];
    const out = await this.run(args, {
      env: { DEVENV_VSCODE: 'false' },
      ...(options.signal ? { signal: options.signal } : {}),
      onStderrLine: (line) => {
        const event = parseUpEvent(line);
        if (event) options.onEvent(event);
      },
    });
    const result = parseCliResult<{ uri?: unknown; host?: unknown }>(out.stdout, out.code, out.stderr);
    if (isCliFailure(result)) throw new DevenvCliError(result, args);
    if (typeof result.uri !== 'string' || typeof result.host !== 'string') {
      throw new DevenvCliError({ outcome: 'error', code: 'CLI_PROTOCOL', message: `devenv open printed an unexpected result: ${out.stdout.slice(0, 200)}` }, args);
    }
    return { uri: result.uri, host: result.host };
  }

  /** `devenv read-configuration --include-merged-configuration --json` (the raw object). */
  readConfiguration(workspaceFolder: string): Promise<Record<string, unknown>> {
    return this.json(['read-configuration', '--include-merged-configuration', '--json', '--workspace-folder', workspaceFolder]);
  }

  /** `devenv stop|down|logs --workspace-folder DIR` and friends: output, throwing on failure. */
  async project(command: 'stop' | 'down' | 'logs' | 'start', workspaceFolder: string, extra: string[] = []): Promise<CliOutput> {
    const args = [command, '--workspace-folder', workspaceFolder, ...extra];
    const out = await this.run(args);
    if (out.code !== 0) {
      const r = parseCliResult<object>(out.stdout, out.code, out.stderr);
      throw new DevenvCliError(isCliFailure(r) ? r : { outcome: 'error', code: 'CLI_FAILED', message: `devenv ${command} exited with code ${out.code}` }, args);
    }
    return out;
  }

  /** `devenv exec --workspace-folder DIR -- CMD…` with optional stdin; never throws on the command's exit code. */
  exec(workspaceFolder: string, command: readonly string[], input?: string): Promise<CliOutput> {
    return this.run(['exec', '-T', '--workspace-folder', workspaceFolder, '--', ...command], input === undefined ? {} : { input });
  }

  /** Whether this devenv has `devenv open` (the ssh issue's command); `--help` exits 2 for unknown commands. */
  async hasCommand(command: string): Promise<boolean> {
    try {
      const out = await this.run([command, '--help']);
      return out.code === 0;
    } catch {
      return false;
    }
  }
}

/** The arguments of the interactive shell the terminal runs: a PTY in the container even though ours are pipes. */
export function terminalArgs(workspaceFolder: string): string[] {
  return ['shell', '-t', '--workspace-folder', workspaceFolder];
}
