import { DevenvError } from '../../errors.js';
import { familiarName, parseImageReference } from '../../image/reference.js';
import type { ImageContent, ImageStore } from '../../image/store/image-store.js';
import type { ResolvedImage } from '../../image/types.js';
import { findImage } from './find-image.js';
import { isRootless, openStoreFor, unpackerFor, unpackIdMappings, type ImageServiceContext } from './image-context.js';
import type { PullProgressEvent } from './pull.js';

// pull.ts and layer-diff-id.ts (the registry client, the unpacker) load only when something must be fetched or
// unpacked: this module is on `container run`'s start-up path.

/** When to pull: Docker's `--pull` values. */
export type PullPolicy = 'missing' | 'always' | 'never';

export interface ResolveImageOptions {
  pull: PullPolicy;
  onProgress?: (event: PullProgressEvent) => void;
  signal?: AbortSignal;
}

/** A ResolvedImage plus the chain ids of its layers (bottom-most first), for the container record. */
export interface ResolvedContainerImage extends ResolvedImage {
  chainIds: string[];
}

function notFound(refText: string): DevenvError {
  let name = refText;
  try {
    name = familiarName(parseImageReference(refText));
  } catch {
    // keep what was typed
  }
  return new DevenvError('IMAGE_NOT_FOUND', `no such image: \`${name}\` (and --pull never)`, {
    hint: `Pull it first: \`devenv image pull ${name}\`.`,
  });
}

/** Unpack the layers whose blobs are stored but whose directories are gone; false when a blob is missing too. */
async function ensureLayers(ctx: ImageServiceContext, store: ImageStore, image: ImageContent): Promise<boolean> {
  const missing = image.layers.filter((l) => !store.layers.has(l.chainId));
  if (missing.length === 0) return true;
  if (!missing.every((l) => store.blobs.has(l.descriptor.digest))) return false;
  const unpack = await unpackerFor(ctx);
  const { unpackVerified } = await import('./layer-diff-id.js');
  const rootless = isRootless(ctx);
  const idMappings = rootless ? unpackIdMappings(ctx) : undefined;
  for (const layer of missing) {
    const blobPath = store.blobs.path(layer.descriptor.digest);
    await store.layers.ensure({
      chainId: layer.chainId,
      diffId: layer.diffId,
      blobDigest: layer.descriptor.digest,
      unpack: async (destDir) => {
        await unpackVerified(layer, (expectDiffId) =>
          unpack({ blobPath, mediaType: layer.descriptor.mediaType, destDir, rootless, expectDiffId, ...(idMappings ? { idMappings } : {}) }),
        );
      },
    });
  }
  return true;
}

function toResolved(store: ImageStore, reference: string, image: ImageContent): ResolvedContainerImage {
  return {
    reference,
    manifestDigest: image.manifestDigest,
    configDigest: image.configDigest,
    config: image.config,
    lowerdirs: image.layers.map((l) => store.layers.diffDir(l.chainId)).reverse(),
    chainIds: image.layers.map((l) => l.chainId),
  };
}

/**
 * Resolve an image for a container and run `use` while the store lock is held shared, so no `image rm` or
 * `image prune` can remove the layers between resolving them and recording the container that uses them (write
 * the container record inside `use`). `refText` is a reference or an image id.
 */
export async function withResolvedImage<T>(
  ctx: ImageServiceContext,
  refText: string,
  options: ResolveImageOptions,
  use: (image: ResolvedContainerImage) => Promise<T>,
): Promise<T> {
  const store = openStoreFor(ctx);
  const lock = await store.lockShared({ timeoutMs: 300_000, ...(options.signal ? { signal: options.signal } : {}) });
  try {
    const pullOptions = { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) };
    const pull = async (): Promise<ResolvedContainerImage> => {
      const { pullIntoStore } = await import('./pull.js');
      const result = await pullIntoStore(ctx, store, parseImageReference(refText), pullOptions);
      return toResolved(store, result.reference, store.readImage(result.manifestDigest, store.index.get(result.reference)?.chainIds));
    };
    if (options.pull === 'always') return await use(await pull());
    const found = findImage(store, refText);
    if (!found) {
      if (options.pull === 'never') throw notFound(refText);
      return await use(await pull());
    }
    const image = store.readImage(found.entry.manifestDigest, found.entry.chainIds);
    if (!(await ensureLayers(ctx, store, image))) {
      if (options.pull === 'never' || found.matchedBy === 'id') {
        throw new DevenvError('STORE_CORRUPT', `image \`${found.references[0] ?? refText}\` is missing layer blobs`, {
          kind: 'external',
          hint: `Pull it again: \`devenv image pull ${found.references[0] ?? refText}\`.`,
        });
      }
      return await use(await pull());
    }
    return await use(toResolved(store, found.references[0] ?? refText, image));
  } finally {
    lock.release();
  }
}

/**
 * What a container needs from an image: its config and unpacked layers (top-most first). `pull`: `missing` pulls
 * when the store lacks it, `always` pulls first (cheap when up to date), `never` fails with IMAGE_NOT_FOUND.
 */
export async function resolveImageForContainer(ctx: ImageServiceContext, refText: string, options: ResolveImageOptions): Promise<ResolvedContainerImage> {
  return withResolvedImage(ctx, refText, options, async (image) => image);
}
