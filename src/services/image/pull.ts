import { DevenvError } from '../../errors.js';
import { formatReference, parseImageReference } from '../../image/reference.js';
import { DOCKER_CONFIG, OCI_CONFIG } from '../../image/registry/media-types.js';
import {
  checkImageConfig,
  checkImageManifest,
  imageLayers,
  sha256Digest,
  type ImageLayer,
  type ImageStore,
} from '../../image/store/image-store.js';
import type { ImageReference, Platform } from '../../image/types.js';
import { isRootless, openStoreFor, registryFor, unpackerFor, unpackIdMappings, type ImageServiceContext, type PullRegistry } from './image-context.js';
import { unpackVerified } from './layer-diff-id.js';

/** Where one layer of a pull is. */
export type LayerStatus = 'waiting' | 'downloading' | 'verifying' | 'unpacking' | 'done' | 'exists';

/** Progress of one layer: bytes held of its (compressed) blob, and its status. */
export interface LayerProgressEvent {
  type: 'layer';
  digest: string;
  total: number;
  done: number;
  status: LayerStatus;
}

/** The manifest is known: what is being pulled, before any layer event. */
export interface PullResolvedEvent {
  type: 'resolved';
  reference: string;
  manifestDigest: string;
  layers: number;
}

export type PullProgressEvent = PullResolvedEvent | LayerProgressEvent;

export interface PullOptions {
  /** Default: the host's (the registry client picks it from an index). */
  platform?: Platform;
  onProgress?: (event: PullProgressEvent) => void;
  signal?: AbortSignal;
}

/** What a pull did; the `--json` form of `image pull`. */
export interface PullResult {
  reference: string;
  manifestDigest: string;
  configDigest: string;
  indexDigest?: string;
  /** Nothing new was fetched and the reference already named this image. */
  upToDate: boolean;
  /** Compressed bytes received. */
  downloadedBytes: number;
  layers: Array<{ digest: string; chainId: string; size: number; status: 'pulled' | 'exists' }>;
}

const MAX_PARALLEL_DOWNLOADS = 4;
const PROGRESS_INTERVAL_MS = 100;

/** Run tasks with at most `limit` at a time; each result is its own promise, in order. */
function runLimited<T>(tasks: Array<() => Promise<T>>, limit: number): Array<Promise<T>> {
  let running = 0;
  const queue: Array<() => void> = [];
  const next = (): void => {
    if (running >= limit) return;
    const start = queue.shift();
    if (start) start();
  };
  return tasks.map(
    (task) =>
      new Promise<T>((resolve, reject) => {
        queue.push(() => {
          running += 1;
          task()
            .then(resolve, reject)
            .finally(() => {
              running -= 1;
              next();
            });
        });
        next();
      }),
  );
}

/** Emits layer events, throttling `downloading` ones to one per layer per 100 ms. */
function layerReporter(onProgress: PullOptions['onProgress']): (layer: ImageLayer, status: LayerStatus, done?: number) => void {
  const last = new Map<string, { status: LayerStatus; at: number }>();
  return (layer, status, done) => {
    if (!onProgress) return;
    const total = layer.descriptor.size;
    const bytes = done ?? (status === 'waiting' ? 0 : total);
    const key = `${layer.chainId}`;
    const prev = last.get(key);
    const now = Date.now();
    if (prev && prev.status === status && status === 'downloading' && now - prev.at < PROGRESS_INTERVAL_MS && bytes < total) return;
    last.set(key, { status, at: now });
    onProgress({ type: 'layer', digest: layer.descriptor.digest, total, done: bytes, status });
  };
}

function checkManifestDigest(ref: ImageReference, descriptorDigest: string, bytes: Buffer, indexDigest: string | undefined): string {
  const actual = sha256Digest(bytes);
  if (actual !== descriptorDigest) {
    throw new DevenvError('DIGEST_MISMATCH', `manifest of \`${formatReference(ref)}\`: its content has digest ${actual}, the registry named ${descriptorDigest}`, {
      kind: 'external',
    });
  }
  if (ref.digest !== undefined && ref.digest !== actual && ref.digest !== indexDigest) {
    throw new DevenvError('DIGEST_MISMATCH', `\`${formatReference(ref)}\`: the registry answered with manifest ${actual}`, { kind: 'external' });
  }
  return actual;
}

/**
 * Pull into an open store; the caller holds the store lock shared. Manifest and config first, then the layers:
 * downloaded 4 at a time, unpacked one after another in manifest order as soon as each one's blob is there (so
 * unpacking overlaps the remaining downloads), then the reference recorded in the index.
 */
export async function pullIntoStore(ctx: ImageServiceContext, store: ImageStore, ref: ImageReference, options: PullOptions = {}): Promise<PullResult> {
  const reference = formatReference(ref);
  const registry: PullRegistry = await registryFor(ctx);
  const controller = new AbortController();
  const abort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', abort, { once: true });
  const signal = controller.signal;
  try {
    const got = await registry.getManifest(ref, options.platform ? { platform: options.platform } : {});
    const manifestDigest = checkManifestDigest(ref, got.descriptor.digest, got.bytes, got.indexDigest);
    let manifestJson: unknown;
    try {
      manifestJson = JSON.parse(got.bytes.toString('utf8'));
    } catch {
      manifestJson = undefined;
    }
    const manifest = checkImageManifest(manifestJson, manifestDigest, 'REGISTRY_PROTOCOL');
    if (manifest.config.mediaType !== OCI_CONFIG && manifest.config.mediaType !== DOCKER_CONFIG) {
      throw new DevenvError('REGISTRY_PROTOCOL', `\`${reference}\` is not a container image (its config is \`${manifest.config.mediaType}\`)`, {
        kind: 'user',
      });
    }
    const knewConfig = store.blobs.has(manifest.config.digest);
    const fetchFrom = (descriptor: typeof manifest.config) => (offset: number) => registry.fetchBlob(ref, descriptor, { offset, signal });
    await store.blobs.ingest(manifest.config, fetchFrom(manifest.config), { signal });
    const config = checkImageConfig(store.blobs.readJson(manifest.config.digest), manifest, manifest.config.digest, 'REGISTRY_PROTOCOL');
    const layers = imageLayers(manifest, config);
    store.blobs.put(got.bytes, manifestDigest);
    options.onProgress?.({ type: 'resolved', reference, manifestDigest, layers: layers.length });

    const unpack = await unpackerFor(ctx);
    const rootless = isRootless(ctx);
    const idMappings = rootless ? unpackIdMappings(ctx) : undefined;
    const report = layerReporter(options.onProgress);
    const present = layers.map((layer) => store.layers.has(layer.chainId));
    layers.forEach((layer, i) => report(layer, present[i] ? 'exists' : 'waiting'));
    let downloadedBytes = 0;
    const downloads = runLimited(
      layers.map((layer, i) => async () => {
        if (present[i]) return;
        const result = await store.blobs.ingest(layer.descriptor, fetchFrom(layer.descriptor), {
          signal,
          onWait: () => report(layer, 'waiting'),
          onProgress: (done, total) => report(layer, done >= total ? 'verifying' : 'downloading', done),
        });
        downloadedBytes += result.downloaded;
      }),
      MAX_PARALLEL_DOWNLOADS,
    );
    let firstError: unknown;
    for (const download of downloads) {
      download.catch((error: unknown) => {
        firstError ??= error; // the cause; the downloads aborted because of it fail after it
        controller.abort();
      });
    }
    const pulled: PullResult['layers'] = [];
    try {
      for (const [i, layer] of layers.entries()) {
        await downloads[i];
        if (present[i]) {
          pulled.push({ digest: layer.descriptor.digest, chainId: layer.chainId, size: layer.descriptor.size, status: 'exists' });
          continue;
        }
        report(layer, 'unpacking');
        const blobPath = store.blobs.path(layer.descriptor.digest);
        const { created } = await store.layers.ensure(
          {
            chainId: layer.chainId,
            diffId: layer.diffId,
            blobDigest: layer.descriptor.digest,
            unpack: async (destDir) => {
              const { size } = await unpackVerified(layer, (expectDiffId) =>
                unpack({ blobPath, mediaType: layer.descriptor.mediaType, destDir, rootless, expectDiffId, ...(idMappings ? { idMappings } : {}) }),
              );
              ctx.logger.debug(`layer ${layer.descriptor.digest}: unpacked ${size} bytes, diff id ${layer.diffId} verified`);
            },
          },
          { signal, onWait: () => report(layer, 'unpacking') },
        );
        report(layer, 'done');
        pulled.push({ digest: layer.descriptor.digest, chainId: layer.chainId, size: layer.descriptor.size, status: created ? 'pulled' : 'exists' });
      }
    } catch (error) {
      controller.abort(); // partial downloads stay in ingest/ for the next pull to resume
      await Promise.allSettled(downloads);
      throw firstError ?? error;
    }

    const previous = store.index.get(reference);
    await store.index.set(reference, {
      manifestDigest,
      configDigest: manifest.config.digest,
      created: previous?.manifestDigest === manifestDigest ? previous.created : new Date().toISOString(),
      ...(got.indexDigest ? { indexDigest: got.indexDigest } : {}),
      chainIds: layers.map((l) => l.chainId),
    });
    return {
      reference,
      manifestDigest,
      configDigest: manifest.config.digest,
      ...(got.indexDigest ? { indexDigest: got.indexDigest } : {}),
      upToDate: knewConfig && downloadedBytes === 0 && pulled.every((l) => l.status === 'exists') && previous?.manifestDigest === manifestDigest,
      downloadedBytes,
      layers: pulled,
    };
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}

/** Pull an image (`debian:bookworm`, `ghcr.io/o/app@sha256:…`) into the store of ctx.root. */
export async function pullImage(ctx: ImageServiceContext, refText: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = parseImageReference(refText);
  const store = openStoreFor(ctx);
  const lock = await store.lockShared({ timeoutMs: 300_000, ...(options.signal ? { signal: options.signal } : {}) });
  try {
    return await pullIntoStore(ctx, store, ref, options);
  } finally {
    lock.release();
  }
}
