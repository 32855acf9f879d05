import { rmSync } from 'node:fs';

import type { ContainerRecord } from '../../runtime/container-store.js';
import type { UserMount } from '../../runtime/spec.js';
import { lockVolumes } from '../../volumes/volume-lock.js';
import { ensureVolume, volumeDataDir, volumeDir } from '../../volumes/volume-store.js';
import type { ServiceContext } from '../service-context.js';

/** Point volume mounts at their volumes' `_data` directories; other mounts are returned as they are. Pure. */
export function resolveVolumeMounts(root: string, mounts: readonly UserMount[]): UserMount[] {
  return mounts.map((m) => (m.volume ? { ...m, type: 'bind', source: volumeDataDir(root, m.volume.name) } : m));
}

/**
 * Make the volumes a new container mounts and write its bundle. Named volumes are made on first use; anonymous
 * ones are made for this container (and marked to go with it when it was created with --rm). Sets the sources of
 * the volume mounts in `record.spec.mounts`, then calls `writeBundle` while holding the volumes lock shared, so a
 * concurrent `volume rm` or `prune` either sees the container's record or ran before the volume was chosen. When
 * `writeBundle` throws, the anonymous volumes made here are removed again. No volume mounts: just `writeBundle()`.
 */
export async function withContainerVolumes<T>(ctx: ServiceContext, record: ContainerRecord, writeBundle: () => T): Promise<T> {
  const volumes = record.spec.mounts.filter((m) => m.volume !== undefined);
  if (volumes.length === 0) return writeBundle();
  const lock = await lockVolumes(ctx.root, 'shared');
  const madeAnonymous: string[] = [];
  try {
    for (const mount of volumes) {
      const volume = mount.volume as NonNullable<UserMount['volume']>;
      const options = volume.anonymous ? { anonymous: true, container: record.id, removeWithContainer: record.autoRemove } : {};
      const { created } = ensureVolume(ctx.root, volume.name, options);
      if (created && volume.anonymous) madeAnonymous.push(volume.name);
    }
    record.spec.mounts = resolveVolumeMounts(ctx.root, record.spec.mounts);
    try {
      return writeBundle();
    } catch (error) {
      // Fresh and unmounted: plain files of ours.
      for (const name of madeAnonymous) rmSync(volumeDir(ctx.root, name), { recursive: true, force: true });
      throw error;
    }
  } finally {
    lock.release();
  }
}
