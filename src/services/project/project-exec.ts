import { execInContainer, type ExecResult } from '../container/exec.js';
import type { ServiceContext } from '../service-context.js';
import { remoteEnvList } from './project-hooks.js';
import { requireRunningProject, type ProjectLocation } from './project-lookup.js';

export interface ProjectExecOptions extends ProjectLocation {
  command: string[];
  /** Extra KEY=VALUE on top of remoteEnv. */
  env: string[];
  user?: string;
  workdir?: string;
  tty: boolean;
  interactive: boolean;
}

/**
 * Run a command in the project's container as the devcontainer CLI's exec does: as remoteUser, in the workspace
 * folder, with remoteEnv (and the environment userEnvProbe found at `up`, kept so exec needs no login shell).
 */
export async function execInProject(ctx: ServiceContext, options: ProjectExecOptions): Promise<ExecResult> {
  const { record, state } = requireRunningProject(ctx, options);
  return execInContainer(ctx, record, {
    command: options.command,
    interactive: options.interactive,
    tty: options.tty,
    detach: false,
    env: [...remoteEnvList(state), ...options.env],
    envFiles: [],
    user: options.user ?? state.remoteUser,
    workdir: options.workdir ?? state.remoteWorkspaceFolder,
    privileged: false,
  });
}
