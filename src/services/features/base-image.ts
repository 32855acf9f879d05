/**
 * The base image of a config, pinned by digest without pulling it: from the lockfile's pin, the image store, or
 * the registry (its manifest only). Used by `devenv lock` and `devenv fingerprint`.
 */
import { createHash } from 'node:crypto';

import { pinnedBaseImage, type Lockfile } from '../../devcontainer/features/lockfile.js';
import { formatReference, parseImageReference } from '../../image/reference.js';
import type { Descriptor, ImageReference } from '../../image/types.js';
import type { ServiceContext } from '../service-context.js';

/** The registry operations used here (a subset of RegistryClient). */
export interface BaseImageRegistry {
  getManifest(ref: ImageReference): Promise<{ descriptor: Descriptor; indexDigest?: string }>;
}

/** A base image pinned by digest. */
export interface PinnedBaseImage {
  /** The config's `image`, as written. */
  reference: string;
  /** `registry/repository@sha256:…`: the index digest when the image has one (the same on every platform). */
  resolved: string;
  /** Where the digest came from. */
  from: 'lockfile' | 'store' | 'registry';
}

// Loaded on first use: opening the store pulls in the image modules.
let storeModules: { openStoreFor: typeof import('../image/image-context.js').openStoreFor; findImage: typeof import('../image/find-image.js').findImage } | undefined;

function fromStore(ctx: ServiceContext, text: string): string | undefined {
  if (!storeModules) return undefined;
  const found = storeModules.findImage(storeModules.openStoreFor(ctx), text);
  if (!found) return undefined;
  const ref = parseImageReference(text);
  return `${ref.registry}/${ref.repository}@${found.entry.indexDigest ?? found.entry.manifestDigest}`;
}

async function fromRegistry(registry: BaseImageRegistry, text: string): Promise<string> {
  const ref = parseImageReference(text);
  const { descriptor, indexDigest } = await registry.getManifest(ref);
  return `${ref.registry}/${ref.repository}@${indexDigest ?? descriptor.digest}`;
}

/**
 * Pin `image` by digest. `preferNetwork` (`devenv lock`): ask the registry first so a moved tag is seen, falling
 * back to the store; otherwise the lockfile's pin (no lookup at all), then the store, then the registry.
 */
export async function pinBaseImage(
  ctx: ServiceContext,
  image: string,
  options: { lockfile?: Lockfile; preferNetwork: boolean; registry?: BaseImageRegistry },
): Promise<PinnedBaseImage> {
  const pin = options.preferNetwork ? undefined : pinnedBaseImage(options.lockfile, image);
  if (pin) return { reference: image, resolved: pin, from: 'lockfile' };
  storeModules ??= {
    openStoreFor: (await import('../image/image-context.js')).openStoreFor,
    findImage: (await import('../image/find-image.js')).findImage,
  };
  const registry = async (): Promise<BaseImageRegistry> => {
    if (options.registry) return options.registry;
    const { createRegistryClient } = await import('../../image/registry/registry-client.js');
    return createRegistryClient({ logger: ctx.logger });
  };
  if (!options.preferNetwork) {
    const stored = fromStore(ctx, image);
    if (stored) return { reference: image, resolved: stored, from: 'store' };
  }
  try {
    return { reference: image, resolved: await fromRegistry(await registry(), image), from: 'registry' };
  } catch (error) {
    const stored = options.preferNetwork ? fromStore(ctx, image) : undefined;
    if (!stored) throw error;
    ctx.logger.warn(`image ${image}: the registry cannot be reached (${error instanceof Error ? error.message : String(error)}); pinning the stored image`);
    return { reference: image, resolved: stored, from: 'store' };
  }
}

/** The normalised form of a reference, for comparisons. */
export function normalizeImage(text: string): string {
  return formatReference(parseImageReference(text));
}

/** sha256 of a text, `sha256:<hex>`. */
export function sha256Text(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}
