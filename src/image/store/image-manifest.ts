import { DevenvError, type DevenvErrorCode } from '../../errors.js';
import type { Descriptor, ImageConfig } from '../types.js';
import type { ContentStore } from './content-store.js';
import { computeChainIds } from './layer-store.js';
import { isStoreDigest } from './store-paths.js';

/** The parts of an image manifest (OCI or Docker schema 2) the store uses. */
export interface ImageManifest {
  schemaVersion?: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** One layer of an image, with the ids that name its unpacked form. */
export interface ImageLayer {
  /** The (usually compressed) blob as the manifest lists it. */
  descriptor: Descriptor;
  /** Digest of the uncompressed tar, from the config's rootfs.diff_ids. */
  diffId: string;
  chainId: string;
}

/** Everything the store knows of one image, read from its manifest and config blobs. */
export interface ImageContent {
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig & { created?: string };
  /** Bottom-most first, as in the manifest. */
  layers: ImageLayer[];
}

type InvalidCode = Extract<DevenvErrorCode, 'STORE_CORRUPT' | 'REGISTRY_PROTOCOL'>;

function isDescriptor(value: unknown): value is Descriptor {
  const d = value as Partial<Descriptor> | null;
  return typeof d === 'object' && d !== null && typeof d.digest === 'string' && isStoreDigest(d.digest) && typeof d.size === 'number' && d.size >= 0;
}

/** Check a parsed manifest's shape; `code` says whose fault a bad one is (the registry's, or the store's). */
export function checkImageManifest(value: unknown, digest: string, code: InvalidCode): ImageManifest {
  const m = value as Partial<ImageManifest> | null;
  const bad = (why: string): DevenvError => new DevenvError(code, `image manifest ${digest}: ${why}`, { kind: 'external' });
  if (typeof m !== 'object' || m === null) throw bad('not a JSON object');
  if (!isDescriptor(m.config)) throw bad('no valid config descriptor (sha256 digest and size)');
  if (!Array.isArray(m.layers) || !m.layers.every(isDescriptor)) throw bad('layers must be a list of descriptors with sha256 digests');
  return m as ImageManifest;
}

/** Check a parsed image config against its manifest: one diff_id per layer. */
export function checkImageConfig(value: unknown, manifest: ImageManifest, digest: string, code: InvalidCode): ImageConfig {
  const c = value as Partial<ImageConfig> | null;
  const bad = (why: string): DevenvError =>
    new DevenvError(code, `image config ${digest}: ${why}`, {
      kind: 'external',
      ...(code === 'REGISTRY_PROTOCOL' ? { hint: 'This is not a container image devenv can run (or it is malformed).' } : {}),
    });
  if (typeof c !== 'object' || c === null) throw bad('not a JSON object');
  const diffIds = c.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string' && isStoreDigest(d))) {
    throw bad('rootfs.diff_ids must be a list of sha256 digests');
  }
  if (diffIds.length !== manifest.layers.length) {
    throw bad(`${diffIds.length} diff_ids for ${manifest.layers.length} layers in the manifest`);
  }
  return c as ImageConfig;
}

/**
 * Pair the manifest's layers with the config's diff_ids and chain ids. `knownChainIds` (as recorded in the index at
 * pull time) spare hashing on the way to a container start.
 */
export function imageLayers(manifest: ImageManifest, config: ImageConfig, knownChainIds?: readonly string[]): ImageLayer[] {
  const chainIds =
    knownChainIds?.length === config.rootfs.diff_ids.length && knownChainIds[0] === config.rootfs.diff_ids[0]
      ? knownChainIds
      : computeChainIds(config.rootfs.diff_ids);
  return manifest.layers.map((descriptor, i) => ({ descriptor, diffId: config.rootfs.diff_ids[i] as string, chainId: chainIds[i] as string }));
}

/** Read an image's manifest and config from the store; STORE_CORRUPT when a blob is missing or malformed. */
export function readImageContent(blobs: ContentStore, manifestDigest: string, knownChainIds?: readonly string[]): ImageContent {
  const manifest = checkImageManifest(blobs.readJson(manifestDigest), manifestDigest, 'STORE_CORRUPT');
  const configDigest = manifest.config.digest;
  const config = checkImageConfig(blobs.readJson(configDigest), manifest, configDigest, 'STORE_CORRUPT');
  return { manifestDigest, manifest, configDigest, config, layers: imageLayers(manifest, config, knownChainIds) };
}
