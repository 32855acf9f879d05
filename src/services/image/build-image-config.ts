import { readFileSync } from 'node:fs';

import { sha256Hex } from '../../image/build/sha256.js';
import type { StageConfig } from '../../image/build/stage-state.js';
import type { ImageLayer, ImageStore } from '../../image/store/image-store.js';

/** One entry of an image config's `history`. */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface BuiltImageInput {
  layers: readonly ImageLayer[];
  config: StageConfig;
  author?: string;
  history: HistoryEntry[];
  /** When the last step ran: the image's `created` (the same on a fully cached rebuild, so the id is too). */
  created: string;
  architecture: string;
  os: string;
  labels: Record<string, string>;
  /** The digests the first tag points at now: when the new config or manifest is byte for byte the same, no hashing. */
  previous?: { configDigest: string; manifestDigest: string };
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** The OCI image config of a build. Pure. */
export function builtImageConfig(input: BuiltImageInput): Record<string, unknown> {
  const labels = { ...(input.config.Labels ?? {}), ...input.labels };
  const config: Record<string, unknown> = { ...input.config, ...(Object.keys(labels).length > 0 ? { Labels: labels } : {}) };
  for (const [k, v] of Object.entries(config)) if (v === undefined) delete config[k];
  return {
    created: input.created,
    ...(input.author ? { author: input.author } : {}),
    architecture: input.architecture,
    os: input.os,
    config,
    rootfs: { type: 'layers', diff_ids: input.layers.map((l) => l.diffId) },
    history: input.history,
  };
}

/** Store a small blob unless it is stored already (an unchanged rebuild writes, and hashes natively, nothing). */
function putOnce(store: ImageStore, bytes: Buffer, previous?: string): string {
  if (previous !== undefined && store.blobs.has(previous)) {
    try {
      if (readFileSync(store.blobs.path(previous)).equals(bytes)) return previous;
    } catch {
      // hash it below
    }
  }
  const digest = `sha256:${sha256Hex(bytes)}`;
  return store.blobs.has(digest) ? digest : store.blobs.put(bytes, digest);
}

/** Store the config and an OCI manifest for the built image; their digests. */
export async function writeBuiltImage(store: ImageStore, input: BuiltImageInput): Promise<{ configDigest: string; manifestDigest: string }> {
  const configBytes = Buffer.from(JSON.stringify(builtImageConfig(input)));
  const configDigest = putOnce(store, configBytes, input.previous?.configDigest);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configDigest, size: configBytes.length },
    layers: input.layers.map((l) => ({ mediaType: l.descriptor.mediaType, digest: l.descriptor.digest, size: l.descriptor.size })),
  };
  const manifestDigest = putOnce(store, Buffer.from(JSON.stringify(manifest)), input.previous?.manifestDigest);
  return { configDigest, manifestDigest };
}
