import { toDevenvError } from '../../errors.js';
import { listRecords, type ContainerRecord } from '../../runtime/container-store.js';
import { lockVolumes } from '../../volumes/volume-lock.js';
import { readVolume, removeVolume } from '../../volumes/volume-store.js';
import { volumeUsers } from '../../volumes/volume-usage.js';
import { volumeTreeRemover, type VolumeServiceContext } from '../volume/volume-context.js';

export interface RemoveAnonymousVolumesOptions {
  /** Also when the container was not created with --rm (`docker rm -v`; `devenv down`). */
  always?: boolean;
}

/**
 * Remove the anonymous volumes of a container created with --rm, as Docker does (other containers' anonymous
 * volumes stay until `volume prune`, unless `always`). Call once the container is gone or ended for good. A volume
 * another container also mounts is kept; a removal that fails is reported as a warning (the container is gone
 * either way, and `volume prune` retries). Returns the names removed.
 */
export async function removeAnonymousVolumes(
  ctx: VolumeServiceContext,
  record: ContainerRecord,
  options: RemoveAnonymousVolumesOptions = {},
): Promise<string[]> {
  if (!record.autoRemove && options.always !== true) return [];
  const names = [...new Set(record.spec.mounts.filter((m) => m.volume?.anonymous).map((m) => (m.volume as { name: string }).name))];
  if (names.length === 0) return [];
  const lock = await lockVolumes(ctx.root, 'exclusive');
  try {
    const users = volumeUsers(ctx.root, listRecords(ctx.root).filter((r) => r.id !== record.id));
    const removeTree = volumeTreeRemover(ctx);
    const removed: string[] = [];
    for (const name of names) {
      const volume = readVolume(ctx.root, name);
      if (!volume?.anonymous) continue;
      if (users.has(name)) {
        ctx.logger.debug(`anonymous volume \`${name}\` is kept: container ${users.get(name)?.map((u) => u.name).join(', ')} uses it too`);
        continue;
      }
      try {
        if (removeVolume(ctx.root, name, removeTree)) removed.push(name);
      } catch (error) {
        const failure = toDevenvError(`remove anonymous volume \`${name}\` of container \`${record.name}\``, error);
        ctx.logger.warn(`${failure.message}; \`devenv volume prune\` retries`);
      }
    }
    return removed;
  } finally {
    lock.release();
  }
}
