import { DevenvError } from '../../errors.js';
import type { LifecycleCommand, LifecycleHookName } from '../config/config-types.js';
import { LineBuffer } from './line-buffer.js';

/** What a `HookCommandRunner` gets besides the argv. */
export interface HookCommandIo {
  /** The hook, plus the command's name for object-form commands: `postCreateCommand` or `postCreateCommand[build]`. */
  name: string;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /** Aborted when the caller cancels the hook (`RunHookOptions.signal`); the runner should then stop the process. */
  signal: AbortSignal;
}

/**
 * Runs one command (in the container, or on the host for initializeCommand) and resolves with its exit code
 * (128+n for a signal, as shells report it). It rejects only when the command could not be run at all.
 */
export interface HookCommandRunner {
  (argv: string[], io: HookCommandIo): Promise<number>;
}

/**
 * `interrupted`: the command ended with exit code 130 (SIGINT). Like the devcontainer CLI, that is not a failure:
 * the command is reported as interrupted and the hook goes on with the next one.
 */
export type HookState = 'started' | 'succeeded' | 'failed' | 'interrupted';

/** Progress of a hook (no `name`) or of one named command of an object-form entry (`name` set). */
export interface HookEvent {
  hook: LifecycleHookName;
  name?: string;
  /** Where the entry came from ("devcontainer.json", "Feature `…`", "image metadata"), when the caller said. */
  origin?: string;
  state: HookState;
  exitCode?: number;
}

/** Where hook output goes; the caller renders it (ink, plain lines, JSON events). */
export interface HookOutput {
  /** One whole line (no newline) of a command's stdout or stderr, or a status line of the runner (on stdout). */
  line(text: string, stream: 'stdout' | 'stderr'): void;
  event(e: HookEvent): void;
}

/** Options of `runLifecycleHook`. */
export interface RunHookOptions {
  /** Origin of each entry of `commands` (same index), e.g. MergedConfig.hookOrigins[hook]. */
  origins?: string[];
  /** Cancels the hook: passed to every runner call; once aborted, the hook throws and runs nothing more. */
  signal?: AbortSignal;
}

/** The exit code the devcontainer CLI treats as "interrupted" rather than failed. */
export const INTERRUPTED_EXIT_CODE = 130;

/** A string runs through `/bin/sh -c`; an array is the argv itself (no shell). */
export function lifecycleCommandArgv(command: string | string[]): string[] {
  return typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
}

function isRunnableStep(step: unknown): step is string | string[] {
  if (typeof step === 'string') return step.trim() !== '';
  return Array.isArray(step) && step.length > 0;
}

function isStep(step: unknown): boolean {
  return typeof step === 'string' || (Array.isArray(step) && step.every((word) => typeof word === 'string'));
}

function checkCommand(hook: LifecycleHookName, command: unknown, where: string): void {
  const valid =
    isStep(command) ||
    (typeof command === 'object' && command !== null && !Array.isArray(command) && Object.values(command).every(isStep));
  if (!valid) {
    throw new DevenvError('CONFIG_INVALID', `${hook}${where}: a command must be a string, an array of strings, or an object of those`, {
      hint: 'See https://containers.dev/implementors/json_reference/#lifecycle-scripts for the forms a lifecycle command can take.',
    });
  }
}

function hasWork(command: LifecycleCommand | undefined | null): command is LifecycleCommand {
  if (command === undefined || command === null) return false;
  if (typeof command === 'string' || Array.isArray(command)) return isRunnableStep(command);
  return typeof command === 'object' && Object.values(command).some(isRunnableStep);
}

interface Outcome {
  name?: string;
  exitCode?: number;
  /** The runner rejected: the command could not be run. */
  error?: unknown;
}

function cancelled(hook: LifecycleHookName): DevenvError {
  return new DevenvError('LIFECYCLE_FAILED', `${hook} was cancelled`, { exitCode: INTERRUPTED_EXIT_CODE });
}

/**
 * Run one lifecycle hook's commands, in order (image and Feature entries first, devcontainer.json last). A string
 * runs with `/bin/sh -c`, an array as argv, an object runs its named commands in parallel and waits for all of
 * them (a failing one does not stop the others, as in the devcontainer CLI). Output is passed on line by line;
 * lines of named commands are prefixed `[name] `. The first failing entry throws LIFECYCLE_FAILED and the entries
 * after it are not run.
 */
export async function runLifecycleHook(
  hook: LifecycleHookName,
  commands: readonly (LifecycleCommand | undefined)[],
  run: HookCommandRunner,
  out: HookOutput,
  options: RunHookOptions = {},
): Promise<void> {
  commands.forEach((command, index) => {
    const source = options.origins?.[index];
    const where = source !== undefined ? ` from ${source}` : commands.length > 1 ? ` (entry ${index + 1})` : '';
    if (command !== undefined && command !== null) checkCommand(hook, command, where);
  });
  const entries = commands
    .map((command, index) => ({ command, origin: options.origins?.[index] }))
    .filter((entry): entry is { command: LifecycleCommand; origin: string | undefined } => hasWork(entry.command));
  if (entries.length === 0) return;
  const several = entries.length > 1;
  const whereOf = (origin: string | undefined): string => (several && origin !== undefined ? ` from ${origin}` : '');

  const signal = options.signal ?? new AbortController().signal;
  const originField = (o: string | undefined): { origin?: string } => (o === undefined ? {} : { origin: o });
  out.event({ hook, state: 'started' });
  let failedExitCode: number | undefined;
  try {
    for (const [index, entry] of entries.entries()) {
      if (signal.aborted) throw cancelled(hook);
      const where = whereOf(entry.origin);
      const position = several && entry.origin === undefined ? ` (${index + 1} of ${entries.length})` : '';
      out.line(`Running ${hook}${where}${position}…`, 'stdout');
      const { command } = entry;
      if (typeof command === 'string' || Array.isArray(command)) {
        const outcome = await execute(run, lifecycleCommandArgv(command), hook, out, signal, undefined);
        if (signal.aborted) throw cancelled(hook);
        if (outcome.error !== undefined) throw outcome.error;
        if (outcome.exitCode === INTERRUPTED_EXIT_CODE) {
          out.line(`${hook}${where} was interrupted (exit code ${INTERRUPTED_EXIT_CODE}); going on`, 'stdout');
        } else if (outcome.exitCode !== 0) {
          failedExitCode = outcome.exitCode;
          throw failure(hook, where, [{ exitCode: outcome.exitCode }]);
        }
        continue;
      }
      const named = Object.entries(command).filter(([, step]) => isRunnableStep(step)) as [string, string | string[]][];
      const outcomes = await Promise.all(
        named.map(async ([name, step]) => {
          out.event({ hook, name, ...originField(entry.origin), state: 'started' });
          const outcome = await execute(run, lifecycleCommandArgv(step), hook, out, signal, name);
          const state: HookState =
            outcome.exitCode === 0 ? 'succeeded' : outcome.exitCode === INTERRUPTED_EXIT_CODE ? 'interrupted' : 'failed';
          out.event({ hook, name, ...originField(entry.origin), state, ...(outcome.exitCode === undefined ? {} : { exitCode: outcome.exitCode }) });
          if (state === 'interrupted') out.line(`[${name}] interrupted (exit code ${INTERRUPTED_EXIT_CODE})`, 'stdout');
          return outcome;
        }),
      );
      if (signal.aborted) throw cancelled(hook);
      const thrown = outcomes.find((o) => o.error !== undefined);
      if (thrown) throw thrown.error;
      const failed = outcomes.filter((o) => o.exitCode !== 0 && o.exitCode !== INTERRUPTED_EXIT_CODE);
      if (failed.length > 0) {
        failedExitCode = failed[0]?.exitCode;
        throw failure(hook, where, failed);
      }
    }
  } catch (error) {
    out.event({ hook, state: 'failed', ...(failedExitCode === undefined ? {} : { exitCode: failedExitCode }) });
    throw error;
  }
  out.event({ hook, state: 'succeeded' });
}

function failure(hook: LifecycleHookName, where: string, failed: Outcome[]): DevenvError {
  const [first, ...rest] = failed as [Outcome, ...Outcome[]];
  const nameOf = (o: Outcome): string => (o.name === undefined ? '' : ` \`${o.name}\``);
  const others = rest.length === 0 ? '' : ` (and${rest.map((o) => `${nameOf(o)} with exit code ${o.exitCode}`).join(',')})`;
  return new DevenvError('LIFECYCLE_FAILED', `${hook}${nameOf(first)}${where} failed with exit code ${first.exitCode}${others}`, {
    hint: `The ${hook} output above shows what went wrong; the lifecycle commands after it were not run.`,
    exitCode: 1,
  });
}

async function execute(
  run: HookCommandRunner,
  argv: string[],
  hook: LifecycleHookName,
  out: HookOutput,
  signal: AbortSignal,
  name: string | undefined,
): Promise<Outcome> {
  const prefix = name === undefined ? '' : `[${name}] `;
  const stdout = new LineBuffer((line) => out.line(prefix + line, 'stdout'));
  const stderr = new LineBuffer((line) => out.line(prefix + line, 'stderr'));
  const base = name === undefined ? {} : { name };
  try {
    const exitCode = await run(argv, {
      name: name === undefined ? hook : `${hook}[${name}]`,
      onStdout: (chunk) => stdout.write(chunk),
      onStderr: (chunk) => stderr.write(chunk),
      signal,
    });
    return { ...base, exitCode };
  } catch (error) {
    return { ...base, error };
  } finally {
    stdout.flush();
    stderr.flush();
  }
}
