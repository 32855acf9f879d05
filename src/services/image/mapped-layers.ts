import { DevenvError } from '../../errors.js';
import { shortDigest, type ImageStore, type MappedLayerArea } from '../../image/store/image-store.js';
import type { OciIdMapping } from '../../runtime/oci-spec-types.js';
import { isRootless, openStoreFor, unpackerFor, unpackIdMappings, type IdMappings, type ImageServiceContext } from './image-context.js';

/** A container's uid and gid mappings, as `computeIdMappings` returns them (null: no user namespace). */
export interface ContainerIdMappings {
  uid: OciIdMapping[];
  gid: OciIdMapping[];
}

/** What `lowerdirsForMapping` needs of an image; a `ResolvedContainerImage` has it all. */
export interface MappableImage {
  manifestDigest: string;
  /** From the image's index entry, bottom-most first; read from its manifest and config when absent. */
  chainIds?: readonly string[];
  /** The store's own unpacked layers, top-most first: the answer whenever no other copy is needed. */
  lowerdirs: readonly string[];
}

export interface LowerdirsForMappingOptions {
  signal?: AbortSignal;
}

function sameRanges(a: readonly OciIdMapping[], b: readonly OciIdMapping[]): boolean {
  return a.length === b.length && a.every((m, i) => m.containerID === b[i]?.containerID && m.hostID === b[i]?.hostID && m.size === b[i]?.size);
}

/** True when two mappings are the same ranges in the same order. */
export function isSameIdMapping(a: IdMappings, b: IdMappings): boolean {
  return sameRanges(a.uidMappings, b.uidMappings) && sameRanges(a.gidMappings, b.gidMappings);
}

/**
 * The mapping a container's layers must be unpacked with, or undefined when the store's own layers are right for it:
 * as root (the store's files keep their ids, containers get the identity mapping or none), without a user
 * namespace, and rootless under the mapping the store unpacks with (a container's default one).
 */
export function layerMappingFor(ctx: ImageServiceContext, mappings: ContainerIdMappings | null): IdMappings | undefined {
  if (!mappings || !isRootless(ctx)) return undefined;
  const wanted = { uidMappings: mappings.uid, gidMappings: mappings.gid };
  let storeMapping: IdMappings | undefined;
  try {
    storeMapping = unpackIdMappings(ctx);
  } catch {
    storeMapping = undefined; // no subordinate ids: the store's layers cannot be right for anyone but root-of-nothing
  }
  return storeMapping && isSameIdMapping(storeMapping, wanted) ? undefined : wanted;
}

async function ensureMappedLayers(
  ctx: ImageServiceContext,
  store: ImageStore,
  area: MappedLayerArea,
  image: MappableImage,
  idMappings: IdMappings,
  options: LowerdirsForMappingOptions,
): Promise<string[]> {
  const content = store.readImage(image.manifestDigest, image.chainIds);
  const missing = content.layers.filter((l) => !area.layers.has(l.chainId));
  if (missing.length > 0) {
    const absent = missing.find((l) => !store.blobs.has(l.descriptor.digest));
    if (absent) {
      throw new DevenvError('STORE_CORRUPT', `image ${shortDigest(content.configDigest)}: layer blob ${absent.descriptor.digest} is missing`, {
        kind: 'external',
        hint: 'Pull the image again (`devenv image pull NAME`).',
      });
    }
    const unpack = await unpackerFor(ctx);
    const { unpackVerified } = await import('./layer-diff-id.js');
    ctx.logger.debug(`unpacking ${missing.length} layer(s) of ${shortDigest(content.configDigest)} for id mapping ${area.key}`);
    for (const layer of missing) {
      const blobPath = store.blobs.path(layer.descriptor.digest);
      await area.layers.ensure(
        {
          chainId: layer.chainId,
          diffId: layer.diffId,
          blobDigest: layer.descriptor.digest,
          unpack: async (destDir) => {
            await unpackVerified(layer, (expectDiffId) =>
              unpack({ blobPath, mediaType: layer.descriptor.mediaType, destDir, rootless: true, idMappings, expectDiffId }),
            );
          },
        },
        options.signal ? { signal: options.signal } : {},
      );
    }
  }
  return content.layers.map((l) => area.layers.diffDir(l.chainId)).reverse();
}

/**
 * The overlay lowerdirs (top-most first) of `image` for a container whose user namespace has `mappings` (what
 * `computeIdMappings` gave it; null for none). Rootless, the store's layers carry host ids that are right under the
 * store's unpack mapping only (container 0 = the user); for any other mapping (`--userns keep-id`, a dev
 * container's keep-id with its remoteUser's uid) each layer is unpacked once more from its stored blob under that
 * mapping, into `images/layers-mapped/<key>/<chain>/diff`, atomically and under a per-layer lock as pulls do, and
 * kept for the next container with the same mapping (`image prune` removes the copies no container uses).
 *
 * Takes the store lock shared while it works. Call it where the container record is written under the same lock
 * (inside `withResolvedImage`'s callback), so no prune can remove the copies before the record names them.
 */
export async function lowerdirsForMapping(
  ctx: ImageServiceContext,
  image: MappableImage,
  mappings: ContainerIdMappings | null,
  options: LowerdirsForMappingOptions = {},
): Promise<string[]> {
  const idMappings = layerMappingFor(ctx, mappings);
  if (!idMappings) return [...image.lowerdirs];
  const store = openStoreFor(ctx);
  const lock = await store.lockShared({ timeoutMs: 300_000, ...(options.signal ? { signal: options.signal } : {}) });
  try {
    return await ensureMappedLayers(ctx, store, store.mapped.forMapping(idMappings), image, idMappings, options);
  } finally {
    lock.release();
  }
}
