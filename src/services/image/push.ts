import { DevenvError } from '../../errors.js';
import { verifiedSourceBlob } from '../../image/archive/export-content.js';
import { storeBlobSource } from '../../image/archive/store-blobs.js';
import { familiarName, formatReference, parseImageReference } from '../../image/reference.js';
import type { Descriptor, ImageReference } from '../../image/types.js';
import { requireImage } from './find-image.js';
import { openStoreFor, type ImageServiceContext } from './image-context.js';
import { exportInputOf } from './export.js';

/** The registry operations a push uses (a subset of `RegistryClient`, docs/images.md). */
export interface PushRegistry {
  hasBlob(ref: ImageReference, digest: string): Promise<boolean>;
  pushBlob(ref: ImageReference, descriptor: Descriptor, open: () => AsyncIterable<Uint8Array>): Promise<void>;
  pushManifest(ref: ImageReference, mediaType: string, bytes: Buffer): Promise<string>;
}

/** Progress of a push, one event per blob as it starts and ends. */
export interface PushProgressEvent {
  digest: string;
  size: number;
  status: 'pushing' | 'pushed' | 'exists';
}

export interface PushOptions {
  /** Where to push (default: the reference the image is stored under). */
  destination?: string;
  onProgress?: (event: PushProgressEvent) => void;
  /** Default: `createRegistryClient` with the user's credentials and registries.json. */
  registry?: PushRegistry;
}

/** What `image push` did; its `--json` form. */
export interface PushResult {
  reference: string;
  manifestDigest: string;
  blobs: Array<{ digest: string; size: number; status: 'pushed' | 'exists' }>;
}

const MAX_PARALLEL_UPLOADS = 3;

async function defaultRegistry(ctx: ImageServiceContext): Promise<PushRegistry> {
  const { createRegistryClient } = await import('../../image/registry/registry-client.js');
  return createRegistryClient({ logger: ctx.logger });
}

/**
 * Push a stored image (`devenv image push my/app:1 127.0.0.1:5000/my/app:1`): its layers and config (those the
 * registry lacks), checked against their digests as they stream from the store, then the manifest byte for byte,
 * so the registry names it by the same digest.
 */
export async function pushImage(ctx: ImageServiceContext, source: string, options: PushOptions = {}): Promise<PushResult> {
  const store = openStoreFor(ctx);
  const lock = await store.lockShared(); // rm and prune wait until the upload is done
  try {
    const found = requireImage(store, source);
    const target = options.destination ?? found.references[0];
    if (target === undefined) {
      throw new DevenvError('USAGE', `push \`${source}\`: the image has no name to push it under`, { hint: 'Name the destination: `devenv image push IMAGE REGISTRY/REPOSITORY:TAG`.' });
    }
    const ref = parseImageReference(target);
    const reference = formatReference(ref);
    const input = exportInputOf(store, source);
    const image = store.readImage(found.entry.manifestDigest);
    const manifestBytes = store.blobs.readBytes(image.manifestDigest);
    const blobs = storeBlobSource(store.blobs);
    const registry = options.registry ?? (await defaultRegistry(ctx));
    const parts: Descriptor[] = [...image.layers.map((l) => l.descriptor), image.manifest.config];
    const unique = parts.filter((d, i) => parts.findIndex((o) => o.digest === d.digest) === i);
    for (const part of unique) blobs.blobSize(part.digest); // STORE_CORRUPT before uploading anything

    const results: PushResult['blobs'] = [];
    const queue = [...unique];
    const worker = async (): Promise<void> => {
      for (let part = queue.shift(); part !== undefined; part = queue.shift()) {
        const descriptor = part;
        if (await registry.hasBlob(ref, descriptor.digest)) {
          options.onProgress?.({ digest: descriptor.digest, size: descriptor.size, status: 'exists' });
          results.push({ digest: descriptor.digest, size: descriptor.size, status: 'exists' });
          continue;
        }
        options.onProgress?.({ digest: descriptor.digest, size: descriptor.size, status: 'pushing' });
        await registry.pushBlob(ref, descriptor, () => verifiedSourceBlob(blobs, descriptor));
        options.onProgress?.({ digest: descriptor.digest, size: descriptor.size, status: 'pushed' });
        results.push({ digest: descriptor.digest, size: descriptor.size, status: 'pushed' });
      }
    };
    await Promise.all(Array.from({ length: Math.min(MAX_PARALLEL_UPLOADS, unique.length) }, worker));

    const pushed = await registry.pushManifest(ref, input.manifest.mediaType, manifestBytes);
    if (pushed !== image.manifestDigest) {
      throw new DevenvError('REGISTRY_PROTOCOL', `push \`${familiarName(ref)}\`: the registry stored the manifest as ${pushed}, not ${image.manifestDigest}`, {
        kind: 'external',
      });
    }
    const order = new Map(unique.map((d, i) => [d.digest, i]));
    results.sort((a, b) => (order.get(a.digest) ?? 0) - (order.get(b.digest) ?? 0));
    return { reference, manifestDigest: image.manifestDigest, blobs: results };
  } finally {
    lock.release();
  }
}
