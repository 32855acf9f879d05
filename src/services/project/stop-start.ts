import { DevenvError } from '../../errors.js';
import { stopContainer } from '../container/stop.js';
import type { ServiceContext } from '../service-context.js';
import { lookupProject, type ProjectLocation } from './project-lookup.js';

/** Stop the project's container (it keeps its files; `devenv up` or `start` starts it again). */
export async function stopProject(ctx: ServiceContext, location: ProjectLocation): Promise<{ outcome: 'success'; containerId?: string; wasRunning: boolean }> {
  const { project, record } = lookupProject(ctx, location);
  if (!record) {
    throw new DevenvError('CONTAINER_NOT_FOUND', `no dev container for ${project.workspaceFolder}`, { hint: 'Nothing to stop; `devenv up` creates it.' });
  }
  const stopped = await stopContainer(ctx, record, { timeoutSeconds: 10, signal: 15 });
  return { outcome: 'success', containerId: record.id, wasRunning: stopped.wasRunning };
}
