import { rmSync } from 'node:fs';

import { agentHostDir } from '../agent/agent-mount.js';
import type { ServiceContext } from '../service-context.js';
import { stopContainer } from '../container/stop.js';
import { lockProject } from './project-index.js';
import { removeProjectContainer } from './project-container.js';
import { lookupProject, type ProjectLocation } from './project-lookup.js';

export interface DownResult {
  outcome: 'success';
  /** The removed container, when there was one. */
  containerId?: string;
  removedVolumes: string[];
}

/** Stop (SIGTERM, then SIGKILL after 10 s) and remove the project's container; `volumes` removes its named volumes too. */
export async function downProject(ctx: ServiceContext, location: ProjectLocation & { volumes: boolean }): Promise<DownResult> {
  const { project, record } = lookupProject(ctx, location);
  const lock = await lockProject(ctx.root, project.devcontainerId, `the dev container of ${project.workspaceFolder}`);
  try {
    if (!record) return { outcome: 'success', removedVolumes: [] };
    await stopContainer(ctx, record, { timeoutSeconds: 10, signal: 15 });
    const removedVolumes = await removeProjectContainer(ctx, project.devcontainerId, record, { volumes: location.volumes });
    // its agent sockets' directory goes with it (a later `up` makes it again)
    rmSync(agentHostDir(ctx.root, project.devcontainerId), { recursive: true, force: true });
    return { outcome: 'success', containerId: record.id, removedVolumes };
  } finally {
    lock.release();
  }
}
