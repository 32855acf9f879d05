import { toDevenvError } from '../../errors.js';
import { listRecords } from '../../runtime/container-store.js';
import { volumeInUse, volumeNotFound } from '../../volumes/volume-errors.js';
import { lockVolumes } from '../../volumes/volume-lock.js';
import { readVolume, removeVolume } from '../../volumes/volume-store.js';
import { volumeUsers } from '../../volumes/volume-usage.js';
import { volumeTreeRemover, type VolumeServiceContext } from './volume-context.js';

export interface RemoveVolumesOptions {
  /** Names that do not exist are not an error (Docker's `volume rm -f`); a volume in use is still refused. */
  force: boolean;
}

/** What `volume rm` removed. */
export interface RemoveVolumesResult {
  removed: string[];
}

/**
 * Remove volumes and their data. As Docker, refuses a volume any container mounts, running or not, naming them.
 * Every name is checked before anything is removed. Holds the volumes lock exclusively, so no create can start
 * using a volume meanwhile.
 */
export async function removeVolumes(ctx: VolumeServiceContext, names: string[], options: RemoveVolumesOptions): Promise<RemoveVolumesResult> {
  const lock = await lockVolumes(ctx.root, 'exclusive');
  try {
    const users = volumeUsers(ctx.root, listRecords(ctx.root));
    const doomed: string[] = [];
    for (const name of new Set(names)) {
      if (!readVolume(ctx.root, name)) {
        if (options.force) continue;
        throw volumeNotFound(name);
      }
      const using = users.get(name);
      if (using) throw volumeInUse(name, using);
      doomed.push(name);
    }
    const removeTree = volumeTreeRemover(ctx);
    const removed: string[] = [];
    for (const name of doomed) {
      try {
        if (removeVolume(ctx.root, name, removeTree)) removed.push(name);
      } catch (error) {
        throw toDevenvError(`remove volume \`${name}\``, error);
      }
    }
    return { removed };
  } finally {
    lock.release();
  }
}
