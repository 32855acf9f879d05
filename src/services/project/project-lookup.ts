import { DevenvError } from '../../errors.js';
import { loadProject, type LoadedProject } from '../../devcontainer/config/load-project.js';
import { bundleDir, readContainerState, type ContainerRecord, type ContainerState } from '../../runtime/container-store.js';
import type { ServiceContext } from '../service-context.js';
import { findProjectContainer } from './project-index.js';
import { readProjectState, type ProjectState } from './project-state.js';

export interface ProjectLocation {
  workspaceFolder: string;
  configFile?: string;
}

/** A project with its container (when one exists). */
export interface ProjectContainer {
  project: LoadedProject;
  record?: ContainerRecord;
  state?: ProjectState;
  live?: ContainerState;
}

export function lookupProject(ctx: ServiceContext, location: ProjectLocation, hostEnv: NodeJS.ProcessEnv = process.env): ProjectContainer {
  const project = loadProject({ workspaceFolder: location.workspaceFolder, hostEnv, ...(location.configFile ? { configFile: location.configFile } : {}) });
  const record = findProjectContainer(ctx.root, project.devcontainerId);
  if (!record) return { project };
  const bundle = bundleDir(ctx.root, record.id);
  const state = readProjectState(bundle);
  return { project, record, ...(state ? { state } : {}), live: readContainerState(bundle) };
}

/** The project's running container and its state, or a clear error saying to run `devenv up`. */
export function requireRunningProject(ctx: ServiceContext, location: ProjectLocation): Required<ProjectContainer> {
  const found = lookupProject(ctx, location);
  const up = `devenv up --workspace-folder ${JSON.stringify(found.project.workspaceFolder)}`;
  if (!found.record || !found.state) {
    throw new DevenvError('CONTAINER_NOT_FOUND', `no dev container for ${found.project.workspaceFolder}`, { hint: `Create it with \`${up}\`.` });
  }
  if (found.live?.status !== 'running') {
    throw new DevenvError('CONTAINER_STATE', `the dev container of ${found.project.workspaceFolder} is not running`, { hint: `Start it with \`${up}\`.` });
  }
  return found as Required<ProjectContainer>;
}
