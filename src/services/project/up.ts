import { createHash } from 'node:crypto';

import { DevenvError } from '../../errors.js';
import { loadProject, type LoadedProject } from '../../devcontainer/config/load-project.js';
import type { HookOutput } from '../../devcontainer/lifecycle/run-hook.js';
import { bundleDir, readContainerState, type ContainerRecord } from '../../runtime/container-store.js';
import type { PortEvent } from '../../runtime/ports/ports-state.js';
import type { PullProgressEvent } from '../image/pull.js';
import { startContainer } from '../container/start.js';
import type { ServiceContext } from '../service-context.js';
import { createProjectContainer, removeProjectContainer } from './project-container.js';
import { ensureProbedEnv } from './probe-env.js';
import { copyGitConfig } from './git-config.js';
import { areCreateHooksDone, runContainerHooks, runHostHook } from './project-hooks.js';
import { findProjectContainer, lockProject } from './project-index.js';
import { explainPortInUse, forwardedPorts, type ProjectPort } from './project-ports.js';
import { readProjectState, type ProjectState } from './project-state.js';

/** Where `up` reports: step lines, warnings, hook output, and pull progress. */
export interface UpReporter extends HookOutput {
  step(message: string): void;
  warn(message: string): void;
  /** The waitFor hook has finished: an editor may attach now (later hooks still run). */
  ready?(): void;
  onPullProgress?(event: PullProgressEvent): void;
  /** A port forwarding notice of the container's monitor (forwarded, removed, failed): `up --watch`. */
  portEvent?(event: PortEvent): void;
}

export interface UpOptions {
  workspaceFolder: string;
  configFile?: string;
  /** Remove the existing container first (`--rebuild`, `--remove-existing-container`). */
  rebuild: boolean;
  skipPostAttach?: boolean;
  /** Refuse a lockfile that does not match the Features (and base image pin) of devcontainer.json. */
  frozenLockfile?: boolean;
  hostEnv: NodeJS.ProcessEnv;
  reporter: UpReporter;
}

/** `devenv up --json`'s result: the devcontainer CLI's fields first, so tools can switch. */
export interface UpResult {
  outcome: 'success';
  containerId: string;
  remoteUser: string;
  remoteWorkspaceFolder: string;
  containerName: string;
  devcontainerId: string;
  configFile: string;
  workspaceFolder: string;
  /** What `up` had to do: nothing (running), start a stopped container, or create one. */
  action: 'running' | 'started' | 'created';
  /** devcontainer.json differs from the one the container was made with (`--rebuild` applies it). */
  configChanged: boolean;
  /** The container's port forwards when `up` finished (automatic ones come and go afterwards: `devenv ports`). */
  forwardedPorts: ProjectPort[];
}

export function hashConfig(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function result(
  ctx: ServiceContext,
  project: LoadedProject,
  record: ContainerRecord,
  state: ProjectState,
  action: UpResult['action'],
  configChanged: boolean,
): Promise<UpResult> {
  return {
    outcome: 'success',
    containerId: record.id,
    remoteUser: state.remoteUser,
    remoteWorkspaceFolder: state.remoteWorkspaceFolder,
    containerName: record.name,
    devcontainerId: project.devcontainerId,
    configFile: project.configFile,
    workspaceFolder: project.workspaceFolder,
    action,
    configChanged,
    forwardedPorts: await forwardedPorts(ctx, record, action === 'running' ? 0 : 1000),
  };
}

function warnIfChanged(project: LoadedProject, state: ProjectState, configHash: string, reporter: UpReporter): boolean {
  if (state.configHash === configHash) return false;
  reporter.warn(`${project.configFile} changed since this container was created; run \`devenv up --rebuild\` to apply the changes`);
  return true;
}

/**
 * Bring a project's dev container up: create it (pulling the image) when missing, start it when stopped, and run
 * the lifecycle hooks that are due. Idempotent; a running container with nothing due returns without taking any
 * lock. Two `up` of one project at once give one container (the project lock).
 */
export async function upProject(ctx: ServiceContext, options: UpOptions): Promise<UpResult> {
  const { reporter } = options;
  const project = loadProject({ workspaceFolder: options.workspaceFolder, hostEnv: options.hostEnv, ...(options.configFile ? { configFile: options.configFile } : {}) });
  for (const w of project.warnings) reporter.warn(w);
  await runHostHook('initializeCommand', project.config.initializeCommand, project.workspaceFolder, options.hostEnv, reporter);
  const configHash = hashConfig(project.configText);

  if (!options.rebuild) {
    const warm = await upWarm(ctx, project, configHash, options);
    if (warm) return warm;
  }
  const lock = await lockProject(ctx.root, project.devcontainerId, `the dev container of ${project.workspaceFolder}`);
  try {
    return await upLocked(ctx, project, configHash, options);
  } finally {
    lock.release();
  }
}

/** The hot path: the container runs and only postAttachCommand is due. */
async function upWarm(ctx: ServiceContext, project: LoadedProject, configHash: string, options: UpOptions): Promise<UpResult | undefined> {
  const record = findProjectContainer(ctx.root, project.devcontainerId);
  if (!record) return undefined;
  const bundle = bundleDir(ctx.root, record.id);
  const state = readProjectState(bundle);
  const live = readContainerState(bundle);
  const startedAt = live.monitor?.startedAt;
  if (!state || live.status !== 'running' || !startedAt || !areCreateHooksDone(state) || state.postStartDoneFor !== startedAt) return undefined;
  if (state.userEnvProbe !== 'none' && state.probedEnv?.startedAt !== startedAt) return undefined;
  const changed = warnIfChanged(project, state, configHash, options.reporter);
  await runContainerHooks({ ctx, record, state, startedAt, out: options.reporter, onReady: () => options.reporter.ready?.(), skipPostAttach: options.skipPostAttach ?? false });
  return result(ctx, project, record, state, 'running', changed);
}

async function upLocked(ctx: ServiceContext, project: LoadedProject, configHash: string, options: UpOptions): Promise<UpResult> {
  const { reporter } = options;
  let record = findProjectContainer(ctx.root, project.devcontainerId);
  let state = record ? readProjectState(bundleDir(ctx.root, record.id)) : undefined;
  if (record && (options.rebuild || !state)) {
    reporter.step(options.rebuild ? `Removing container ${record.name} (named volumes and the workspace are kept)` : `Removing half-made container ${record.name}`);
    await removeProjectContainer(ctx, project.devcontainerId, record, { volumes: false });
    record = undefined;
    state = undefined;
  }
  let action: UpResult['action'] = 'running';
  let changed = false;
  if (!record || !state) {
    const created = await createProjectContainer(ctx, project, configHash, reporter, { frozenLockfile: options.frozenLockfile ?? false });
    record = created.record;
    state = created.state;
    action = 'created';
  } else {
    changed = warnIfChanged(project, state, configHash, reporter);
  }
  const bundle = bundleDir(ctx.root, record.id);
  let live = readContainerState(bundle);
  if (live.status !== 'running') {
    reporter.step(`Starting container ${record.name}`);
    const started = await startContainer(ctx, record, { attached: false }).catch(async (error: unknown) => {
      throw await explainPortInUse(error, state?.requiredPorts ?? [], project.configFile);
    });
    for (const w of started.warnings) reporter.warn(w);
    if (action === 'running') action = 'started';
    live = readContainerState(bundle);
  }
  const startedAt = live.monitor?.startedAt;
  if (live.status !== 'running' || !startedAt) {
    const exit = live.exit ? ` (exit code ${live.exit.exitCode})` : '';
    throw new DevenvError('CONTAINER_STATE', `container \`${record.name}\` stopped right after it started${exit}`, {
      kind: 'user',
      hint: `See its output with \`devenv logs --workspace-folder ${project.workspaceFolder}\`; with overrideCommand: false the image's command must keep running.`,
    });
  }
  await ensureProbedEnv(ctx, record, state, startedAt, reporter);
  await runContainerHooks({ ctx, record, state, startedAt, out: reporter, onReady: () => reporter.ready?.(), skipPostAttach: options.skipPostAttach ?? false });
  // As VS Code Dev Containers does, once per new container and after its hooks (a file they made is kept).
  if (action === 'created') {
    const user = state.remoteUser;
    await copyGitConfig(ctx, record, user, options.hostEnv).catch((error: unknown) => reporter.warn(`copying your git config into the container: ${(error as Error).message}`));
  }
  return result(ctx, project, record, state, action, changed);
}
