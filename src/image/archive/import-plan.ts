import { DevenvError } from '../../errors.js';
import { DOCKER_CONFIG, isImageManifestMediaType, layerCompression, OCI_CONFIG } from '../registry/media-types.js';
import type { Descriptor } from '../types.js';
import type { ArchiveReader } from './archive-reader.js';
import { archiveInvalid, type ArchiveFormat, type BlobSink, type ImportedImage, type ManifestDocument } from './archive-types.js';
import { bytesBody, parseArchiveJson, sha256Of, verifiedBody } from './blob-streams.js';

/** What importing an archive will write: the images found, and where each of their blobs comes from. */
export interface ImportPlan {
  format: ArchiveFormat;
  images: ImportedImage[];
  /** Blobs held in memory (manifests, configs, manifests made from Docker's manifest.json). */
  inline: Map<string, { descriptor: Descriptor; bytes: Buffer }>;
  /** Blobs streamed from the archive: digest → descriptor and the (canonical) archive name holding it. */
  files: Map<string, { descriptor: Descriptor; name: string }>;
}

export function emptyPlan(format: ArchiveFormat): ImportPlan {
  return { format, images: [], inline: new Map(), files: new Map() };
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Check a descriptor from an archive: a sha256 digest, a non-negative integer size, a media type. */
export function checkDescriptor(value: unknown, where: string, what: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (typeof d !== 'object' || d === null) throw archiveInvalid(where, `${what} is not a descriptor object`);
  if (typeof d.digest !== 'string' || !DIGEST.test(d.digest)) {
    throw archiveInvalid(where, `${what} has the digest \`${String(d.digest).slice(0, 100)}\` (only sha256:<64 hex digits> is supported)`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw archiveInvalid(where, `${what} has no valid size`);
  if (typeof d.mediaType !== 'string') throw archiveInvalid(where, `${what} has no media type`);
  return d as Descriptor;
}

/** Parse and check an image manifest; every layer must be a layer media type devenv can unpack. */
export function checkManifest(bytes: Buffer, descriptor: Descriptor, where: string): ManifestDocument {
  const value = parseArchiveJson(bytes, where, `manifest ${descriptor.digest}`) as Partial<ManifestDocument> | null;
  if (typeof value !== 'object' || value === null) throw archiveInvalid(where, `manifest ${descriptor.digest} is not a JSON object`);
  const mediaType = value.mediaType ?? descriptor.mediaType;
  if (!isImageManifestMediaType(mediaType)) {
    throw new DevenvError('ARCHIVE_UNSUPPORTED', `${where}: manifest ${descriptor.digest} has media type \`${mediaType}\`, not an image manifest`);
  }
  const config = checkDescriptor(value.config, where, `the config of manifest ${descriptor.digest}`);
  if (config.mediaType !== OCI_CONFIG && config.mediaType !== DOCKER_CONFIG) {
    throw new DevenvError('ARCHIVE_UNSUPPORTED', `${where}: manifest ${descriptor.digest} is not a container image (its config is \`${config.mediaType}\`)`);
  }
  if (!Array.isArray(value.layers)) throw archiveInvalid(where, `manifest ${descriptor.digest} has no layer list`);
  const layers = value.layers.map((l, i) => {
    const layer = checkDescriptor(l, where, `layer ${i + 1} of manifest ${descriptor.digest}`);
    if (layerCompression(layer.mediaType) === undefined) {
      throw new DevenvError('ARCHIVE_UNSUPPORTED', `${where}: layer ${layer.digest} has media type \`${layer.mediaType}\`, which devenv cannot unpack`);
    }
    return layer;
  });
  return { ...value, config, layers } as ManifestDocument;
}

/** Parse an image config and check it has one diff id per layer. */
export function checkConfig(bytes: Buffer, digest: string, layerCount: number, where: string): { os?: string; architecture?: string; variant?: string } {
  const value = parseArchiveJson(bytes, where, `config ${digest}`) as { rootfs?: { diff_ids?: unknown }; os?: unknown; architecture?: unknown; variant?: unknown } | null;
  if (typeof value !== 'object' || value === null) throw archiveInvalid(where, `config ${digest} is not a JSON object`);
  const diffIds = value.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string' && DIGEST.test(d))) {
    throw archiveInvalid(where, `config ${digest}: rootfs.diff_ids must be a list of sha256 digests`);
  }
  if (diffIds.length !== layerCount) throw archiveInvalid(where, `config ${digest} lists ${diffIds.length} diff ids for ${layerCount} layers`);
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return { os: text(value.os), architecture: text(value.architecture), variant: text(value.variant) };
}

/** Check in-memory bytes against their descriptor. */
export function checkBytes(bytes: Buffer, descriptor: Descriptor, where: string, what: string): void {
  if (bytes.length !== descriptor.size) throw archiveInvalid(where, `${what} ${descriptor.digest} has ${bytes.length} bytes, its descriptor names ${descriptor.size}`);
  const actual = sha256Of(bytes);
  if (actual !== descriptor.digest) {
    throw new DevenvError('DIGEST_MISMATCH', `${where}: ${what} ${descriptor.digest} has content with digest ${actual}`, {
      hint: 'The archive is damaged or was tampered with; create it again.',
    });
  }
}

/** Add a blob that is streamed from the archive, checking its size against the descriptor first. */
export function planFile(plan: ImportPlan, reader: ArchiveReader, descriptor: Descriptor, name: string): void {
  const size = reader.size(name);
  if (size !== descriptor.size) throw archiveInvalid(reader.where, `blob ${descriptor.digest} (\`${name}\`) has ${size} bytes, its descriptor names ${descriptor.size}`);
  if (!plan.inline.has(descriptor.digest)) plan.files.set(descriptor.digest, { descriptor, name });
}

/**
 * Write the plan's blobs into the sink, each verified against its digest as it streams: layers first, then the
 * in-memory blobs (configs before the manifests that name them).
 */
export async function transferPlan(reader: ArchiveReader, plan: ImportPlan, sink: BlobSink): Promise<{ blobsWritten: number; bytesWritten: number }> {
  let blobsWritten = 0;
  let bytesWritten = 0;
  const byName = new Map<string, Descriptor[]>();
  for (const { descriptor, name } of plan.files.values()) {
    if (sink.hasBlob(descriptor.digest)) continue;
    byName.set(name, [...(byName.get(name) ?? []), descriptor]);
  }
  await reader.stream(byName.keys(), async (name, body) => {
    const [descriptor, ...others] = byName.get(name) ?? [];
    if (!descriptor) return;
    if (others.length > 0) throw archiveInvalid(reader.where, `\`${name}\` is named by the different digests ${descriptor.digest} and ${others[0]?.digest}`);
    await sink.writeBlob(descriptor, verifiedBody(descriptor, body, reader.where));
    blobsWritten += 1;
    bytesWritten += descriptor.size;
  });
  const inline = [...plan.inline.values()].sort((a, b) => rank(a.descriptor) - rank(b.descriptor));
  for (const { descriptor, bytes } of inline) {
    if (sink.hasBlob(descriptor.digest)) continue;
    await sink.writeBlob(descriptor, verifiedBody(descriptor, bytesBody(bytes), reader.where));
    blobsWritten += 1;
    bytesWritten += descriptor.size;
  }
  return { blobsWritten, bytesWritten };
}

function rank(descriptor: Descriptor): number {
  return isImageManifestMediaType(descriptor.mediaType) ? 1 : 0;
}
