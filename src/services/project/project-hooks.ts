import { spawn } from 'node:child_process';

import type { ContainerHookName, LifecycleCommand, LifecycleHookName } from '../../devcontainer/config/config-types.js';
import { runLifecycleHook, type HookCommandRunner, type HookOutput } from '../../devcontainer/lifecycle/run-hook.js';
import { bundleDir, type ContainerRecord } from '../../runtime/container-store.js';
import { execPiped } from '../container/exec.js';
import type { ServiceContext } from '../service-context.js';
import { writeProjectState, type ProjectState } from './project-state.js';

/** The environment of remoteUser's processes: the probed shell environment, then remoteEnv on top. */
export function remoteEnvList(state: ProjectState): string[] {
  const env: Record<string, string> = { ...(state.probedEnv?.env ?? {}) };
  for (const [k, v] of Object.entries(state.remoteEnv)) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/** Runs hook commands inside the container as remoteUser, in the workspace folder, with remoteEnv. */
export function containerHookRunner(ctx: ServiceContext, record: ContainerRecord, state: ProjectState): HookCommandRunner {
  return (argv, io) =>
    execPiped(
      ctx,
      record,
      { command: argv, env: remoteEnvList(state), user: state.remoteUser, workdir: state.remoteWorkspaceFolder },
      { onStdout: io.onStdout, onStderr: io.onStderr, signal: io.signal },
    );
}

/** Runs initializeCommand on the host, in the workspace folder, with our environment. */
export function hostHookRunner(cwd: string, env: NodeJS.ProcessEnv): HookCommandRunner {
  return (argv, io) =>
    new Promise<number>((resolve, reject) => {
      const child = spawn(argv[0] as string, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], signal: io.signal });
      child.stdout.on('data', io.onStdout);
      child.stderr.on('data', io.onStderr);
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') resolve(127);
        else if (error.name === 'AbortError') resolve(130);
        else reject(error);
      });
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
    });
}

export async function runHostHook(name: LifecycleHookName, command: LifecycleCommand | undefined, cwd: string, env: NodeJS.ProcessEnv, out: HookOutput): Promise<void> {
  if (command === undefined) return;
  await runLifecycleHook(name, [command], hostHookRunner(cwd, env), out);
}

const CREATE_HOOKS: ContainerHookName[] = ['onCreateCommand', 'updateContentCommand', 'postCreateCommand'];

/** True when every once-per-container hook has run (to completion) in this container. */
export function areCreateHooksDone(state: ProjectState): boolean {
  return CREATE_HOOKS.every((h) => state.createHooksDone.includes(h));
}

export interface ContainerHooksInput {
  ctx: ServiceContext;
  record: ContainerRecord;
  state: ProjectState;
  /** The current run's start time: postStartCommand runs once per start. */
  startedAt: string;
  out: HookOutput;
  /** Called once the hook named by waitFor (and those before it) has finished: editors may connect. */
  onReady?: () => void;
  skipPostAttach?: boolean;
}

/**
 * Run the container hooks that are due, in the spec's order, recording progress in project.json after each so
 * a `kill -9` resumes at the first unfinished one. A failing hook throws (LIFECYCLE_FAILED) and later ones
 * do not run.
 */
export async function runContainerHooks(input: ContainerHooksInput): Promise<void> {
  const { ctx, record, state, out } = input;
  const bundle = bundleDir(ctx.root, record.id);
  const run = containerHookRunner(ctx, record, state);
  let ready = false;
  const maybeReady = (hook: ContainerHookName): void => {
    if (!ready && hook === state.waitFor) {
      ready = true;
      input.onReady?.();
    }
  };
  for (const hook of CREATE_HOOKS) {
    if (!state.createHooksDone.includes(hook)) {
      await runLifecycleHook(hook, state.hooks[hook], run, out);
      state.createHooksDone.push(hook);
      writeProjectState(bundle, state);
    }
    maybeReady(hook);
  }
  if (state.postStartDoneFor !== input.startedAt) {
    await runLifecycleHook('postStartCommand', state.hooks.postStartCommand, run, out);
    state.postStartDoneFor = input.startedAt;
    writeProjectState(bundle, state);
  }
  maybeReady('postStartCommand');
  if (!input.skipPostAttach) await runLifecycleHook('postAttachCommand', state.hooks.postAttachCommand, run, out);
  if (!ready) {
    ready = true;
    input.onReady?.();
  }
}
