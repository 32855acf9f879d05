import { closeSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { DevenvError } from '../../errors.js';
import { withFileLock } from '../../host/file-lock.js';
import { openCgroupManager } from '../../runtime/cgroups/open-cgroup-manager.js';
import { bundleDir, readContainerState, releaseName, type ContainerRecord } from '../../runtime/container-store.js';
import { loadAddon, runtimeBinary } from '../../runtime/native.js';
import type { ServiceContext } from '../service-context.js';
import { removeAnonymousVolumes } from './remove-volumes.js';
import { stopLocked } from './stop.js';

export interface RemoveContainerOptions {
  force: boolean;
}

function cgroupPathsOf(dir: string): string[] {
  try {
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { devenv?: { cgroups?: string[] } };
    return spec.devenv?.cgroups ?? [];
  } catch {
    return [];
  }
}

/**
 * Remove the bundle directory. Rootless, the upper dir may hold files owned by sub-ids the user cannot
 * unlink: the runtime removes them from inside a user namespace with the container's mappings.
 */
export function removeBundleDir(dir: string, rootless: boolean): void {
  if (!rootless) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const addon = loadAddon();
  const { pid, syncFd } = addon.spawnWithSync(runtimeBinary(), ['remove-tree', '--bundle', dir, dir], true);
  closeSync(syncFd);
  const code = addon.waitExit(pid);
  if (code !== 0) {
    throw new DevenvError('STORE_IO', `remove container files in ${dir}: the runtime's remove-tree failed (exit ${code}; its error is above)`, {
      kind: 'external',
    });
  }
}

/**
 * Remove a container: refuses a running one unless forced (then SIGKILL and wait). Always removes its
 * cgroups and directory, whatever state a killed devenv or monitor left them in; a --rm container's anonymous
 * volumes go too.
 */
export async function removeContainer(ctx: ServiceContext, record: ContainerRecord, options: RemoveContainerOptions): Promise<void> {
  const dir = bundleDir(ctx.root, record.id);
  await withFileLock(join(dir, 'lock'), { what: `container \`${record.name}\`` }, async () => {
    const state = readContainerState(dir);
    if (state.status === 'running') {
      if (!options.force) {
        throw new DevenvError('CONTAINER_STATE', `container \`${record.name}\` is running`, {
          hint: `Stop it first (\`devenv container stop ${record.name}\`) or use \`devenv container rm -f ${record.name}\`.`,
        });
      }
      const stopped = await stopLocked(dir, { timeoutSeconds: 0, signal: 9 });
      if (stopped.state.status === 'running') {
        throw new DevenvError('CONTAINER_STATE', `container \`${record.name}\` did not end after SIGKILL`, { kind: 'external' });
      }
    }
    // The last start's config.json names its cgroups; a devenv killed between making them and writing it leaves
    // them unnamed, so also look for the id under every parent devenv uses.
    const manager = openCgroupManager();
    const byId = manager.setup.parents.map((parent) => join(parent, record.id)).filter((path) => existsSync(path));
    const paths = [...new Set([...cgroupPathsOf(dir), ...byId])];
    if (paths.length > 0) await manager.removeContainerCgroup(paths);
  });
  removeBundleDir(dir, record.spec.rootless);
  releaseName(ctx.root, record.name, record.id);
  await removeAnonymousVolumes(ctx, record);
}
