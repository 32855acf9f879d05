import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { acquireFileLock, type FileLock } from '../host/file-lock.js';
import { volumesDir } from './volume-store.js';

/**
 * The volumes lock (`volumes/.lock`). Creates hold it shared from making their volumes until the container's
 * bundle is written; `volume rm` and `prune` hold it exclusively while they decide what nobody uses and remove
 * it, so a volume never goes between a create choosing it and its record naming it.
 */
export async function lockVolumes(root: string, mode: 'shared' | 'exclusive'): Promise<FileLock> {
  mkdirSync(volumesDir(root), { recursive: true, mode: 0o700 });
  return acquireFileLock(join(volumesDir(root), '.lock'), {
    what: 'the volume store',
    shared: mode === 'shared',
    busyCode: 'STORE_LOCKED',
  });
}
