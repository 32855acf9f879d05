import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

import type { Descriptor, ImageConfig, Platform } from '../../image/types.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** The layer `writeLayerBlob` wrote: its descriptor, and what the image config records (diff_id). */
export interface LayerBlob {
  descriptor: Descriptor;
  /** `sha256:` of the uncompressed tar. */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
}

function hashing(hash: ReturnType<typeof createHash>, count: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      count(chunk.length);
      callback(null, chunk);
    },
  });
}

/**
 * Gzip a tar stream into `<layout>/blobs/sha256/<hex>`, hashing both sides on the way (one pass, nothing held in
 * memory). Node's gzip writes no name and no time, so the same tar gives the same blob.
 */
export async function writeLayerBlob(tar: Readable, layoutDir: string): Promise<LayerBlob> {
  const blobs = join(layoutDir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const tmp = join(layoutDir, 'layer.tmp');
  const raw = createHash('sha256');
  const gz = createHash('sha256');
  let tarSize = 0;
  let size = 0;
  await pipeline(
    tar,
    hashing(raw, (n) => (tarSize += n)),
    createGzip({ level: 6 }),
    hashing(gz, (n) => (size += n)),
    createWriteStream(tmp, { mode: 0o644 }),
  );
  const hex = gz.digest('hex');
  renameSync(tmp, join(blobs, hex));
  return { descriptor: { mediaType: OCI_LAYER_GZIP, digest: `sha256:${hex}`, size }, diffId: `sha256:${raw.digest('hex')}`, tarSize };
}

/** What the bootstrapped image's config says about itself. */
export interface BootstrapConfigInput {
  diffId: string;
  platform: Platform;
  /** ISO 8601; SOURCE_DATE_EPOCH when set, so a rebuild can give the same config. */
  created: string;
  /** The history line: how the layer was made. */
  createdBy: string;
  labels?: Record<string, string>;
}

/** The OCI image config of a one-layer Debian image: PATH as Debian's, `bash` as the command (Docker's debian image does the same). */
export function bootstrapImageConfig(input: BootstrapConfigInput): ImageConfig & { created: string; variant?: string } {
  return {
    created: input.created,
    architecture: input.platform.architecture,
    ...(input.platform.variant ? { variant: input.platform.variant } : {}),
    os: input.platform.os,
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['bash'],
      ...(input.labels ? { Labels: input.labels } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [input.diffId] },
    history: [{ created: input.created, created_by: input.createdBy }],
  };
}

function writeBlob(layoutDir: string, bytes: Buffer, mediaType: string): Descriptor {
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(layoutDir, 'blobs', 'sha256', hex), bytes, { mode: 0o644 });
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/**
 * Finish an OCI image layout around a layer `writeLayerBlob` put there: config, manifest, `index.json` (naming
 * the image `reference`, as containerd and skopeo annotate it) and `oci-layout`. Returns the manifest descriptor.
 */
export function writeOciLayout(layoutDir: string, layer: LayerBlob, config: object, reference: string, tag: string): Descriptor {
  mkdirSync(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  const configDescriptor = writeBlob(layoutDir, Buffer.from(JSON.stringify(config)), OCI_CONFIG);
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDescriptor, layers: [layer.descriptor] };
  const manifestDescriptor = writeBlob(layoutDir, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ ...manifestDescriptor, annotations: { 'io.containerd.image.name': reference, 'org.opencontainers.image.ref.name': tag } }],
  };
  writeFileSync(join(layoutDir, 'index.json'), `${JSON.stringify(index)}\n`);
  writeFileSync(join(layoutDir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n');
  return manifestDescriptor;
}
