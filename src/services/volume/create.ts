import { checkVolumeName } from '../../volumes/volume-name.js';
import { ensureVolume } from '../../volumes/volume-store.js';
import type { VolumeServiceContext } from './volume-context.js';

export interface CreateVolumeOptions {
  labels: Record<string, string>;
}

/** What `volume create` did: `created` is false when the volume existed (it is kept as it was, labels too). */
export interface CreateVolumeResult {
  name: string;
  created: boolean;
}

/** Make a named volume, as `docker volume create NAME`: a name already taken is not an error. */
export function createVolume(ctx: VolumeServiceContext, name: string, options: CreateVolumeOptions): CreateVolumeResult {
  const { created } = ensureVolume(ctx.root, checkVolumeName(name, 'volume create'), { labels: options.labels });
  if (!created) ctx.logger.debug(`volume \`${name}\` exists; kept as it is`);
  return { name, created };
}
