import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { writeJsonAtomic } from '../../host/atomic-file.js';
import type { ContainerHookName, LifecycleCommand } from '../../devcontainer/config/config-types.js';
import type { RequiredHostPort } from './project-ports-spec.js';

/**
 * What `up` keeps beside a project's container (`containers/<id>/project.json`): enough for the next `up`,
 * `exec` and `ps` to work without the image store, and the progress of the once-per-container hooks so a `kill -9`
 * during `up` resumes where it stopped.
 */
export interface ProjectState {
  devcontainerId: string;
  workspaceFolder: string;
  configFile: string;
  /** sha256 of devcontainer.json's text when the container was made: a change means "rebuild to apply". */
  configHash: string;
  remoteUser: string;
  remoteWorkspaceFolder: string;
  /** remoteEnv after substitution (null removes a variable); the probe's result is kept apart. */
  remoteEnv: Record<string, string | null>;
  userEnvProbe: string;
  /** The probed environment of remoteUser's shell, per container start (`startedAt`). */
  probedEnv?: { startedAt: string; env: Record<string, string> };
  /** Lifecycle commands after the metadata merge, in order. */
  hooks: Record<ContainerHookName, LifecycleCommand[]>;
  waitFor: ContainerHookName;
  /** The once-per-container hooks that have finished. */
  createHooksDone: ContainerHookName[];
  /** The container start (its `startedAt`) for which postStartCommand has run. */
  postStartDoneFor?: string;
  shutdownAction: 'none' | 'stopContainer';
  /** forwardPorts after the merge (acted on by the networking layer). */
  forwardPorts: (number | string)[];
  /** Forwards whose host port must be free, and the property that says so (a start failing on one names it). */
  requiredPorts?: RequiredHostPort[];
}

export function projectStatePath(bundle: string): string {
  return join(bundle, 'project.json');
}

export function readProjectState(bundle: string): ProjectState | undefined {
  try {
    return JSON.parse(readFileSync(projectStatePath(bundle), 'utf8')) as ProjectState;
  } catch {
    return undefined;
  }
}

/** Durable: hook progress must survive a crash, or a postCreateCommand could run twice. */
export function writeProjectState(bundle: string, state: ProjectState): void {
  writeJsonAtomic(projectStatePath(bundle), state, { durable: true });
}
