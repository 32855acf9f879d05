import { listRecords } from '../../runtime/container-store.js';
import type { VolumeUser } from '../../volumes/volume-errors.js';
import { listVolumeRecords, requireVolume, volumeDataDir, type VolumeRecord } from '../../volumes/volume-store.js';
import { volumeUsers } from '../../volumes/volume-usage.js';
import { sweepVolumes } from './sweep.js';
import type { VolumeServiceContext } from './volume-context.js';

/** One volume as `volume ls --json` and `volume inspect` show it. */
export interface VolumeSummary {
  name: string;
  driver: 'local';
  /** The host directory containers mount (`<root>/volumes/<name>/_data`). */
  mountpoint: string;
  created: string;
  labels: Record<string, string>;
  anonymous: boolean;
  /** Containers (in any state) that mount it. */
  containers: VolumeUser[];
  /** Anonymous volumes: the container they were made for, and whether they go with it (`--rm`). */
  madeFor?: { container: string; removeWithContainer: boolean };
}

export function summarizeVolume(root: string, volume: VolumeRecord, users: Map<string, VolumeUser[]>): VolumeSummary {
  return {
    name: volume.name,
    driver: 'local',
    mountpoint: volumeDataDir(root, volume.name),
    created: volume.created,
    labels: volume.labels,
    anonymous: volume.anonymous,
    containers: users.get(volume.name) ?? [],
    ...(volume.container !== undefined ? { madeFor: { container: volume.container, removeWithContainer: volume.removeWithContainer === true } } : {}),
  };
}

/** Every volume, by name, with the containers that use it. */
export async function listVolumes(ctx: VolumeServiceContext): Promise<VolumeSummary[]> {
  await sweepVolumes(ctx);
  const users = volumeUsers(ctx.root, listRecords(ctx.root));
  return listVolumeRecords(ctx.root).map((v) => summarizeVolume(ctx.root, v, users));
}

/** The named volumes (VOLUME_NOT_FOUND for any that does not exist). */
export async function inspectVolumes(ctx: VolumeServiceContext, names: string[]): Promise<VolumeSummary[]> {
  await sweepVolumes(ctx);
  const users = volumeUsers(ctx.root, listRecords(ctx.root));
  return names.map((name) => summarizeVolume(ctx.root, requireVolume(ctx.root, name), users));
}
