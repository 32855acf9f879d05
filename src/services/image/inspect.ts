import type { ImageConfig } from '../../image/types.js';
import type { ImageManifest } from '../../image/store/image-store.js';
import { requireImage } from './find-image.js';
import { openStoreFor, type ImageServiceContext } from './image-context.js';
import { imageSize } from './list.js';

/** Everything the store knows of one image: `image inspect`'s JSON. */
export interface ImageInspection {
  /** The image id (config digest). */
  id: string;
  /** Every reference naming this image. */
  references: string[];
  manifestDigest: string;
  configDigest: string;
  indexDigest?: string;
  created: string | null;
  architecture: string | null;
  os: string | null;
  size: number;
  config: ImageConfig;
  manifest: ImageManifest;
  layers: Array<{ digest: string; mediaType: string; size: number; diffId: string; chainId: string; unpacked: boolean; unpackedSize?: number; path?: string }>;
}

/** Inspect an image by reference or id; IMAGE_NOT_FOUND when absent. */
export function inspectImage(ctx: ImageServiceContext, text: string): ImageInspection {
  const store = openStoreFor(ctx);
  const found = requireImage(store, text);
  const image = store.readImage(found.entry.manifestDigest);
  const references = store.index
    .entries()
    .filter(([, e]) => e.configDigest === found.entry.configDigest)
    .map(([r]) => r);
  const config = image.config as ImageConfig & { created?: unknown };
  return {
    id: image.configDigest,
    references,
    manifestDigest: image.manifestDigest,
    configDigest: image.configDigest,
    ...(found.entry.indexDigest ? { indexDigest: found.entry.indexDigest } : {}),
    created: typeof config.created === 'string' ? config.created : null,
    architecture: config.architecture ?? null,
    os: config.os ?? null,
    size: imageSize(store, image),
    config: image.config,
    manifest: image.manifest,
    layers: image.layers.map((l) => {
      const record = store.layers.read(l.chainId);
      return {
        digest: l.descriptor.digest,
        mediaType: l.descriptor.mediaType,
        size: l.descriptor.size,
        diffId: l.diffId,
        chainId: l.chainId,
        unpacked: record !== undefined,
        ...(record ? { unpackedSize: record.size, path: store.layers.diffDir(l.chainId) } : {}),
      };
    }),
  };
}
