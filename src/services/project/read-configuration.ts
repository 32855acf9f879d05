import type { DevContainerConfig, MergedConfig, MountObject } from '../../devcontainer/config/config-types.js';
import { loadProject } from '../../devcontainer/config/load-project.js';
import { mergeConfiguration, parseImageMetadataLabel } from '../../devcontainer/config/merge-metadata.js';
import type { ServiceContext } from '../service-context.js';
import { findProjectContainer } from './project-index.js';
import type { ProjectLocation } from './project-lookup.js';

/** `devenv read-configuration --json`, shaped like the devcontainer CLI's output. */
export interface ReadConfigurationResult {
  configuration: DevContainerConfig & { configFilePath: string };
  workspace: { workspaceFolder: string; workspaceMount: MountObject };
  devcontainerId: string;
  warnings: string[];
  /** With --include-merged-configuration: the config merged with the metadata of the container's image. */
  mergedConfiguration?: MergedConfig;
}

export function readConfiguration(ctx: ServiceContext, location: ProjectLocation & { includeMerged: boolean }): ReadConfigurationResult {
  const project = loadProject({ workspaceFolder: location.workspaceFolder, hostEnv: process.env, ...(location.configFile ? { configFile: location.configFile } : {}) });
  const out: ReadConfigurationResult = {
    configuration: { ...project.config, configFilePath: project.configFile },
    workspace: { workspaceFolder: project.containerWorkspaceFolder, workspaceMount: project.workspaceMount },
    devcontainerId: project.devcontainerId,
    warnings: project.warnings,
  };
  if (location.includeMerged) {
    // The container's label holds the image metadata it was made with; without a container, the config alone.
    const record = findProjectContainer(ctx.root, project.devcontainerId);
    const label = record?.labels?.['devcontainer.metadata'];
    out.mergedConfiguration = mergeConfiguration(project.config, parseImageMetadataLabel(label, `container ${record?.name ?? ''}`));
  }
  return out;
}
