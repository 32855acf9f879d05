import { DevenvError } from '../../errors.js';
import { familiarName, parseImageReference } from '../../image/reference.js';
import { requireImage } from './find-image.js';
import { imageUsageFor, openStoreFor, type ImageServiceContext } from './image-context.js';

export interface RemoveImagesOptions {
  /** Remove even when containers use the image (its content stays until they are gone) or an id names several references. */
  force: boolean;
}

/** What `image rm` did. */
export interface RemoveImagesResult {
  untagged: string[];
  /** Blobs and layers removed because nothing needs them any more. */
  deleted: string[];
  bytesFreed: number;
}

function shortName(reference: string): string {
  try {
    return familiarName(parseImageReference(reference));
  } catch {
    return reference;
  }
}

/**
 * Remove images by reference or id, as `docker rmi`: untag, then delete the content nothing needs any more. Refuses,
 * unless forced, to remove the last reference of an image a container uses, and an id that names several
 * references. Takes the store lock exclusively: waits for running pulls.
 */
export async function removeImages(ctx: ImageServiceContext, texts: string[], options: RemoveImagesOptions): Promise<RemoveImagesResult> {
  const store = openStoreFor(ctx);
  const lock = await store.lockExclusive();
  try {
    const doomed = new Set<string>();
    for (const text of texts) {
      const found = requireImage(store, text);
      if (found.matchedBy === 'id' && found.references.length > 1 && !options.force) {
        throw new DevenvError('USAGE', `image \`${text}\` is referenced by ${found.references.length} references (${found.references.map(shortName).join(', ')})`, {
          hint: 'Remove them by name, or use --force to remove them all.',
        });
      }
      for (const reference of found.references) doomed.add(reference);
    }
    const usage = imageUsageFor(ctx);
    if (!options.force) {
      const entries = store.index.entries();
      for (const reference of doomed) {
        const entry = store.index.get(reference);
        if (!entry) continue;
        const users = usage.manifestDigests.get(entry.manifestDigest) ?? [];
        const othersRemain = entries.some(([r, e]) => !doomed.has(r) && e.manifestDigest === entry.manifestDigest);
        if (users.length > 0 && !othersRemain) {
          throw new DevenvError('IMAGE_IN_USE', `image \`${shortName(reference)}\` is used by container${users.length > 1 ? 's' : ''} ${users.join(', ')}`, {
            hint: `Remove the container${users.length > 1 ? 's' : ''} first (\`devenv container rm ${users.join(' ')}\`), or use --force to remove the name only.`,
          });
        }
      }
    }
    const untagged = await store.index.update((images) => {
      const out: string[] = [];
      for (const reference of doomed) {
        if (reference in images) {
          delete images[reference];
          out.push(reference);
        }
      }
      return out;
    });
    // Layers that go take their copies under other id mappings with them (bytesFreed counts those too).
    const gc = store.collectGarbage({ manifestDigests: usage.manifestDigests.keys(), chainIds: usage.chainIds, mappedLayers: usage.mappedLayers ?? [] });
    return { untagged, deleted: [...gc.blobsRemoved, ...gc.layersRemoved], bytesFreed: gc.bytesFreed };
  } finally {
    lock.release();
  }
}
