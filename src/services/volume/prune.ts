import { toDevenvError } from '../../errors.js';
import { listRecords } from '../../runtime/container-store.js';
import { lockVolumes } from '../../volumes/volume-lock.js';
import { listVolumeRecords, removeVolume } from '../../volumes/volume-store.js';
import { volumeUsers } from '../../volumes/volume-usage.js';
import { sweepVolumes } from './sweep.js';
import { volumeTreeRemover, type VolumeServiceContext } from './volume-context.js';

export interface PruneVolumesOptions {
  /** Also remove named volumes no container uses (Docker's `volume prune --all`); otherwise only anonymous ones. */
  all: boolean;
}

/** What `volume prune` removed: anonymous volumes first, then named ones. */
export interface PruneVolumesResult {
  removed: string[];
}

/**
 * Remove the volumes no container (in any state) mounts: the anonymous ones, and with `all` the named ones too,
 * as Docker 23+ does. Holds the volumes lock exclusively.
 */
export async function pruneVolumes(ctx: VolumeServiceContext, options: PruneVolumesOptions): Promise<PruneVolumesResult> {
  const swept = await sweepVolumes(ctx);
  const lock = await lockVolumes(ctx.root, 'exclusive');
  try {
    const users = volumeUsers(ctx.root, listRecords(ctx.root));
    const unused = listVolumeRecords(ctx.root).filter((v) => !users.has(v.name) && (options.all || v.anonymous));
    const ordered = [...unused.filter((v) => v.anonymous), ...unused.filter((v) => !v.anonymous)];
    const removeTree = volumeTreeRemover(ctx);
    const removed = [...swept];
    for (const volume of ordered) {
      try {
        if (removeVolume(ctx.root, volume.name, removeTree)) removed.push(volume.name);
      } catch (error) {
        throw toDevenvError(`remove volume \`${volume.name}\``, error);
      }
    }
    return { removed };
  } finally {
    lock.release();
  }
}
