import { DevenvError } from '../../errors.js';
import { parseImageReference } from '../reference.js';
import { isImageManifestMediaType, isIndexMediaType, OCI_INDEX } from '../registry/media-types.js';
import { hostPlatform, selectPlatformManifest } from '../registry/platform.js';
import type { Descriptor, Platform } from '../types.js';
import { blobPath } from './archive-paths.js';
import type { ArchiveReader } from './archive-reader.js';
import {
  archiveInvalid,
  CONTAINERD_NAME_ANNOTATION,
  REF_NAME_ANNOTATION,
  type ArchiveFormat,
  type BlobSource,
  type IndexDocument,
} from './archive-types.js';
import type { ArchiveWriter } from './archive-writer.js';
import { parseArchiveJson } from './blob-streams.js';
import { copyBlob, type ExportContent } from './export-content.js';
import { checkBytes, checkConfig, checkDescriptor, checkManifest, emptyPlan, planFile, type ImportPlan } from './import-plan.js';

/*
 * The OCI image layout (image-spec image-layout.md): `oci-layout` ({"imageLayoutVersion":"1.0.0"}), `index.json`
 * (an image index whose entries name images with `org.opencontainers.image.ref.name`) and `blobs/sha256/<hex>`.
 * The same files as a directory (`oci-dir`) or in a tar (`oci-archive`); see ArchiveReader / ArchiveWriter.
 */

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_INDEX_FILE = 'index.json';
const LAYOUT_VERSION = '1.0.0';

/** Options of reading a layout. */
export interface ReadLayoutOptions {
  /** The platform to pick from multi-platform indexes (default: the host's). */
  platform?: Platform;
}

/** True when the reader holds an OCI layout (has `oci-layout` or `index.json`). */
export function isOciLayout(reader: ArchiveReader): boolean {
  return reader.resolve(OCI_LAYOUT_FILE) !== undefined || reader.resolve(OCI_INDEX_FILE) !== undefined;
}

async function readBlobBytes(reader: ArchiveReader, descriptor: Descriptor, what: string): Promise<{ name: string; bytes: Buffer }> {
  const name = reader.resolve(blobPath(descriptor.digest, reader.where));
  if (name === undefined) throw archiveInvalid(reader.where, `${what} ${descriptor.digest} is not in the archive`);
  const bytes = await reader.readFile(name);
  checkBytes(bytes, descriptor, reader.where, what);
  return { name, bytes };
}

function parseIndex(bytes: Buffer, where: string, what: string): IndexDocument {
  const value = parseArchiveJson(bytes, where, what) as Partial<IndexDocument> | null;
  if (typeof value !== 'object' || value === null || !Array.isArray(value.manifests)) throw archiveInvalid(where, `${what} has no \`manifests\` list`);
  return { ...value, manifests: value.manifests.map((m, i) => checkDescriptor(m, where, `entry ${i + 1} of ${what}`)) };
}

/** The names an index entry gives its image: containerd's full name first, then the OCI ref name. */
function entryNames(descriptor: Descriptor): string[] {
  const names: string[] = [];
  for (const key of [CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION]) {
    const value = descriptor.annotations?.[key];
    if (typeof value === 'string' && value !== '' && !names.includes(value)) names.push(value);
  }
  return names;
}

/** Top-level manifests that are platform variants of one name are treated like an index: pick one platform. */
function choosePlatformVariants(entries: Descriptor[], platform: Platform, where: string): Descriptor[] {
  const groups = new Map<string, Descriptor[]>();
  for (const entry of entries) {
    const key = entryNames(entry).join('\n');
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  const out: Descriptor[] = [];
  for (const group of groups.values()) {
    const manifests = group.filter((d) => isImageManifestMediaType(d.mediaType));
    if (manifests.length > 1 && manifests.every((d) => d.platform)) {
      out.push(selectPlatformManifest(manifests, platform, where), ...group.filter((d) => !manifests.includes(d)));
    } else {
      out.push(...group);
    }
  }
  return out;
}

/** Read an OCI layout's index and the manifests and configs it names; plan the transfer of their layers. */
export async function readOciLayout(reader: ArchiveReader, format: ArchiveFormat, options: ReadLayoutOptions = {}): Promise<ImportPlan> {
  const where = reader.where;
  const layoutName = reader.resolve(OCI_LAYOUT_FILE);
  if (layoutName === undefined) throw archiveInvalid(where, 'no `oci-layout` file: this is not an OCI image layout');
  const layout = parseArchiveJson(await reader.readFile(layoutName), where, OCI_LAYOUT_FILE) as { imageLayoutVersion?: unknown } | null;
  if (typeof layout?.imageLayoutVersion !== 'string' || !layout.imageLayoutVersion.startsWith('1.')) {
    throw new DevenvError('ARCHIVE_UNSUPPORTED', `${where}: unsupported OCI layout version ${JSON.stringify(layout?.imageLayoutVersion)}`);
  }
  const indexName = reader.resolve(OCI_INDEX_FILE);
  if (indexName === undefined) throw archiveInvalid(where, 'no `index.json`: this is not an OCI image layout');
  const index = parseIndex(await reader.readFile(indexName), where, OCI_INDEX_FILE);
  const platform = options.platform ?? hostPlatform();
  const plan = emptyPlan(format);
  const byManifest = new Map<string, ImportPlan['images'][number]>();

  for (const entry of choosePlatformVariants(index.manifests, platform, where)) {
    let manifestDescriptor = entry;
    let indexDigest: string | undefined;
    if (isIndexMediaType(entry.mediaType)) {
      const nested = parseIndex((await readBlobBytes(reader, entry, 'image index')).bytes, where, `image index ${entry.digest}`);
      manifestDescriptor = selectPlatformManifest(nested.manifests.filter((m) => isImageManifestMediaType(m.mediaType)), platform, where);
      indexDigest = entry.digest;
    } else if (!isImageManifestMediaType(entry.mediaType)) {
      continue; // artifacts, signatures, attestations: not images
    }
    const names = entryNames(entry);
    const seen = byManifest.get(manifestDescriptor.digest);
    if (seen) {
      for (const name of names) if (!seen.names.includes(name)) seen.names.push(name);
      continue;
    }
    const manifestBlob = await readBlobBytes(reader, manifestDescriptor, 'manifest');
    const manifest = checkManifest(manifestBlob.bytes, manifestDescriptor, where);
    const configBlob = await readBlobBytes(reader, manifest.config, 'config');
    const config = checkConfig(configBlob.bytes, manifest.config.digest, manifest.layers.length, where);
    const descriptor: Descriptor = { mediaType: manifest.mediaType ?? manifestDescriptor.mediaType, digest: manifestDescriptor.digest, size: manifestDescriptor.size };
    plan.inline.set(descriptor.digest, { descriptor, bytes: manifestBlob.bytes });
    plan.inline.set(manifest.config.digest, { descriptor: manifest.config, bytes: configBlob.bytes });
    for (const layer of manifest.layers) {
      const name = reader.resolve(blobPath(layer.digest, where));
      if (name === undefined) throw archiveInvalid(where, `layer ${layer.digest} is not in the archive`);
      planFile(plan, reader, layer, name);
    }
    const image: ImportPlan['images'][number] = {
      names,
      manifest: descriptor,
      configDigest: manifest.config.digest,
      ...(indexDigest ? { indexDigest } : {}),
      ...(config.os && config.architecture
        ? { platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) } }
        : {}),
    };
    byManifest.set(descriptor.digest, image);
    plan.images.push(image);
  }
  if (plan.images.length === 0) throw archiveInvalid(where, '`index.json` names no image manifest');
  return plan;
}

/** The index.json entries of one image: one per name (a tag in ref.name, the full reference in containerd's). */
function indexEntries(content: ExportContent): Descriptor[] {
  const base: Descriptor = { mediaType: content.input.manifest.mediaType, digest: content.input.manifest.digest, size: content.input.manifest.size };
  if (content.input.names.length === 0) return [base];
  return content.input.names.map((name) => {
    const tag = parseImageReference(name).tag;
    return { ...base, annotations: { [CONTAINERD_NAME_ANNOTATION]: name, ...(tag === undefined ? {} : { [REF_NAME_ANNOTATION]: tag }) } };
  });
}

/**
 * Write images as an OCI layout: `oci-layout` and `index.json` first, then manifests and configs, then layers (so
 * a streaming reader meets the small files before the large ones).
 */
export async function writeOciLayout(writer: ArchiveWriter, source: BlobSource, contents: ExportContent[]): Promise<void> {
  const index: IndexDocument = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: contents.flatMap(indexEntries) };
  await writer.addFile(OCI_LAYOUT_FILE, Buffer.from(`${JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION })}\n`));
  await writer.addFile(OCI_INDEX_FILE, Buffer.from(`${JSON.stringify(index)}\n`));
  await writer.addDirectory('blobs');
  await writer.addDirectory('blobs/sha256');
  const written = new Set<string>();
  const metadata: Descriptor[] = [];
  const layers: Descriptor[] = [];
  for (const content of contents) {
    metadata.push(content.input.manifest, content.manifest.config);
    layers.push(...content.manifest.layers);
  }
  for (const descriptor of [...metadata, ...layers]) {
    if (written.has(descriptor.digest)) continue;
    written.add(descriptor.digest);
    await copyBlob(writer, source, descriptor, blobPath(descriptor.digest, 'export'));
  }
}
