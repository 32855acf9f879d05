import { existsSync, readdirSync } from 'node:fs';

import { toDevenvError } from '../../errors.js';
import { listRecords } from '../../runtime/container-store.js';
import { lockVolumes } from '../../volumes/volume-lock.js';
import {
  isContainerPresent,
  listVolumeRecords,
  removeVolume,
  removeVolumeLeftovers,
  volumesDir,
  type VolumeRecord,
} from '../../volumes/volume-store.js';
import { volumeUsers } from '../../volumes/volume-usage.js';
import { volumeTreeRemover, type VolumeServiceContext } from './volume-context.js';

/** An anonymous volume of a `--rm` container that is gone. */
function isOrphan(root: string, volume: VolumeRecord): boolean {
  return volume.anonymous && volume.removeWithContainer === true && volume.container !== undefined && !isContainerPresent(root, volume.container);
}

function hasLeftovers(root: string): boolean {
  try {
    return readdirSync(volumesDir(root)).some((n) => n.startsWith('.rm-') || n.startsWith('.tmp-'));
  } catch {
    return false;
  }
}

/**
 * Tidy the volume store before reporting on it: finish removals that failed part way, drop half-made volumes, and
 * remove the anonymous volumes of `--rm` containers that are gone (the runtime's monitor removes a detached `--rm`
 * container that ends, with no devenv there to remove its volumes). Takes the volumes lock exclusively, and only
 * when there is something to do. Returns the volumes removed.
 */
export async function sweepVolumes(ctx: VolumeServiceContext): Promise<string[]> {
  const root = ctx.root;
  if (!existsSync(volumesDir(root))) return [];
  if (!hasLeftovers(root) && !listVolumeRecords(root).some((v) => isOrphan(root, v))) return [];
  const lock = await lockVolumes(root, 'exclusive');
  try {
    const removeTree = volumeTreeRemover(ctx);
    const leftovers = removeVolumeLeftovers(root, removeTree);
    if (leftovers.length > 0) ctx.logger.debug(`volumes: removed ${leftovers.length} leftovers of interrupted commands`);
    const users = volumeUsers(root, listRecords(root));
    const removed: string[] = [];
    for (const volume of listVolumeRecords(root)) {
      if (!isOrphan(root, volume) || users.has(volume.name)) continue;
      try {
        if (removeVolume(root, volume.name, removeTree)) removed.push(volume.name);
      } catch (error) {
        ctx.logger.warn(toDevenvError(`remove anonymous volume \`${volume.name}\` of a removed --rm container`, error).message);
      }
    }
    return removed;
  } finally {
    lock.release();
  }
}
