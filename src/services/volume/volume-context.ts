import { rmSync } from 'node:fs';

import { isErrnoCode } from '../../errors.js';
import type { RemoveTree } from '../../volumes/volume-store.js';
import { storeTreeRemover } from '../image/image-context.js';
import type { ServiceContext } from '../service-context.js';

/** The outside world of the volume services; tests pass fakes, commands take the defaults. */
export interface VolumeServiceDeps {
  /** Default: `volumeTreeRemover`. */
  removeTree?: RemoveTree;
}

/** ServiceContext plus the volume services' dependencies. */
export interface VolumeServiceContext extends ServiceContext {
  volumes?: VolumeServiceDeps;
}

/**
 * How volume files are removed: a recursive rm. Rootless, files a container made as one of its non-root users
 * belong to sub-ids the user may not remove; then the runtime's remove-tree removes what is left as root of a
 * user namespace with a container's default mappings (they map every id a volume can hold: the user's own and
 * the subordinate ranges).
 */
export function volumeTreeRemover(ctx: VolumeServiceContext): RemoveTree {
  if (ctx.volumes?.removeTree) return ctx.volumes.removeTree;
  const rootless = (process.getuid?.() ?? 0) !== 0;
  return (dir: string) => {
    try {
      rmSync(dir, { recursive: true, force: true });
      return;
    } catch (error) {
      if (!rootless || !(isErrnoCode(error, 'EACCES') || isErrnoCode(error, 'EPERM'))) throw error;
    }
    storeTreeRemover(ctx, rootless)(dir);
  };
}
