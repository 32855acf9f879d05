import { createHash } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';

import { DevenvError } from '../../errors.js';
import { familiarName, parseImageReference } from '../reference.js';
import { layerCompression, OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST } from '../registry/media-types.js';
import type { Descriptor } from '../types.js';
import { digestFromBlobPath, normalizeArchivePath } from './archive-paths.js';
import type { ArchiveReader } from './archive-reader.js';
import { archiveInvalid, type BlobSource, type ManifestDocument } from './archive-types.js';
import type { ArchiveWriter } from './archive-writer.js';
import { detectCompression, parseArchiveJson, sha256Of } from './blob-streams.js';
import { copyBlob, readSmallBlob, verifiedSourceBlob, type ExportContent } from './export-content.js';
import { checkBytes, checkConfig, emptyPlan, planFile, type ImportPlan } from './import-plan.js';

/*
 * `docker save` archives: `manifest.json` = [{ "Config": "<hex>.json", "RepoTags": ["busybox:latest"],
 * "Layers": ["<id>/layer.tar", …] }], the config file, and the layers as tars (uncompressed from `docker save`
 * and skopeo; compressed ones are accepted too). Docker 25+ writes an OCI layout alongside, whose blobs these
 * paths then name. Importing turns each entry into an OCI manifest with computed digests.
 */

export const DOCKER_MANIFEST_FILE = 'manifest.json';

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** True when the reader holds a docker-archive (`manifest.json` at its root). */
export function isDockerArchive(reader: ArchiveReader): boolean {
  return reader.resolve(DOCKER_MANIFEST_FILE) !== undefined;
}

function parseDockerManifest(bytes: Buffer, where: string): DockerManifestEntry[] {
  const value = parseArchiveJson(bytes, where, DOCKER_MANIFEST_FILE);
  if (!Array.isArray(value)) throw archiveInvalid(where, '`manifest.json` is not a list of images');
  return value.map((raw: unknown, i) => {
    const e = raw as Partial<DockerManifestEntry> | null;
    const what = `image ${i + 1} of \`manifest.json\``;
    if (typeof e !== 'object' || e === null || typeof e.Config !== 'string') throw archiveInvalid(where, `${what} has no \`Config\``);
    if (!Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) throw archiveInvalid(where, `${what} has no \`Layers\` list`);
    const tags = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    return { Config: e.Config, Layers: e.Layers, RepoTags: tags };
  });
}

function resolveListed(reader: ArchiveReader, listed: string, what: string): string {
  const name = reader.resolve(normalizeArchivePath(listed, reader.where));
  if (name === undefined) throw archiveInvalid(reader.where, `${what} \`${listed}\` (named in manifest.json) is not in the archive`);
  return name;
}

/** Read `manifest.json` and each image's config; plan the transfer of layers as OCI blobs. */
export async function readDockerArchive(reader: ArchiveReader): Promise<ImportPlan> {
  const where = reader.where;
  const manifestName = reader.resolve(DOCKER_MANIFEST_FILE);
  if (manifestName === undefined) throw archiveInvalid(where, 'no `manifest.json`: this is not a docker-archive');
  const plan = emptyPlan('docker-archive');
  for (const entry of parseDockerManifest(await reader.readFile(manifestName), where)) {
    const configName = resolveListed(reader, entry.Config, 'config');
    const configBytes = await reader.readFile(configName);
    const configDescriptor: Descriptor = { mediaType: OCI_CONFIG, digest: sha256Of(configBytes), size: configBytes.length };
    const named = digestFromBlobPath(configName);
    if (named) checkBytes(configBytes, { ...configDescriptor, digest: named }, where, 'config');
    const config = checkConfig(configBytes, configDescriptor.digest, entry.Layers.length, where);
    const diffIds = (JSON.parse(configBytes.toString('utf8')) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
    const layers: Descriptor[] = [];
    for (const [i, listed] of entry.Layers.entries()) {
      const name = resolveListed(reader, listed, `layer ${i + 1}`);
      const compression = detectCompression(await reader.head(name));
      let layer: Descriptor;
      if (compression === 'none') {
        // an uncompressed layer is its own diff: its digest must be the config's diff id (checked as it streams)
        layer = { mediaType: OCI_LAYER, digest: diffIds[i] as string, size: reader.size(name) };
      } else if (compression === 'gzip' || compression === 'zstd') {
        const digest = digestFromBlobPath(name) ?? (await reader.digest(name));
        layer = { mediaType: compression === 'gzip' ? OCI_LAYER_GZIP : OCI_LAYER_ZSTD, digest, size: reader.size(name) };
      } else {
        throw new DevenvError('ARCHIVE_UNSUPPORTED', `${where}: layer \`${listed}\` is ${compression}-compressed, which devenv cannot unpack`, {
          hint: 'Save the image again with uncompressed or gzip layers (`docker save`, `skopeo copy … docker-archive:`).',
        });
      }
      planFile(plan, reader, layer, name);
      layers.push(layer);
    }
    const manifest: ManifestDocument = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDescriptor, layers };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDescriptor: Descriptor = { mediaType: OCI_MANIFEST, digest: sha256Of(manifestBytes), size: manifestBytes.length };
    plan.inline.set(configDescriptor.digest, { descriptor: configDescriptor, bytes: configBytes });
    plan.inline.set(manifestDescriptor.digest, { descriptor: manifestDescriptor, bytes: manifestBytes });
    const existing = plan.images.find((image) => image.manifest.digest === manifestDescriptor.digest);
    if (existing) {
      for (const tag of entry.RepoTags ?? []) if (!existing.names.includes(tag)) existing.names.push(tag);
      continue;
    }
    plan.images.push({
      names: [...new Set(entry.RepoTags ?? [])],
      manifest: manifestDescriptor,
      configDigest: configDescriptor.digest,
      ...(config.os && config.architecture
        ? { platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) } }
        : {}),
    });
  }
  if (plan.images.length === 0) throw archiveInvalid(where, '`manifest.json` names no image');
  return plan;
}

function decompressor(compression: 'gzip' | 'zstd', digest: string): Transform {
  if (compression === 'gzip') return zlib.createGunzip();
  const zstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (zstd) return zstd();
  throw new DevenvError('ARCHIVE_UNSUPPORTED', `export: layer ${digest} is zstd-compressed; a docker-archive needs it uncompressed and this Node.js cannot decompress zstd`, {
    hint: 'Export with `--format oci-archive` instead (it keeps layers as they are).',
  });
}

/** The decompressed content of a stored layer, streamed. */
async function* decompressedLayer(source: BlobSource, layer: Descriptor, compression: 'gzip' | 'zstd'): AsyncIterable<Uint8Array> {
  const inflate = decompressor(compression, layer.digest);
  const feeding = pipeline(Readable.from(verifiedSourceBlob(source, layer)), inflate);
  feeding.catch(() => undefined);
  for await (const chunk of inflate) yield chunk as Buffer;
  await feeding;
}

/** Size and digest of a compressed layer's content: the first of two passes, since a tar header needs the size. */
async function measureDecompressed(source: BlobSource, layer: Descriptor, compression: 'gzip' | 'zstd'): Promise<{ size: number; digest: string }> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of decompressedLayer(source, layer, compression)) {
      hash.update(chunk);
      size += chunk.length;
    }
  } catch (error) {
    if (error instanceof DevenvError) throw error;
    throw new DevenvError('STORE_CORRUPT', `export: layer ${layer.digest} does not decompress as ${compression}`, { kind: 'external', cause: error });
  }
  return { size, digest: `sha256:${hash.digest('hex')}` };
}

function inconsistent(layer: Descriptor, actual: string, diffId: string): DevenvError {
  return new DevenvError('DIGEST_MISMATCH', `export: layer ${layer.digest} has uncompressed digest ${actual}, its config says ${diffId}`, {
    kind: 'external',
    hint: 'The image is inconsistent (its config names other content than its manifest); pull it again.',
  });
}

/**
 * Write images as a docker-archive, as `docker save` and skopeo do: uncompressed layers named by diff id
 * (`<hex>.tar`), configs as `<hex>.json`, `manifest.json` with RepoTags (familiar names). manifest.json and
 * configs come first, so readers that stream meet them before the layers.
 */
export async function writeDockerArchive(writer: ArchiveWriter, source: BlobSource, contents: ExportContent[]): Promise<void> {
  const entries: DockerManifestEntry[] = [];
  const configs: Array<{ name: string; bytes: Buffer }> = [];
  const layers: Array<{ name: string; layer: Descriptor; diffId: string }> = [];
  const planned = new Set<string>();
  for (const content of contents) {
    const configBytes = await readSmallBlob(source, content.manifest.config.digest);
    checkConfig(configBytes, content.manifest.config.digest, content.manifest.layers.length, 'export');
    const diffIds = (JSON.parse(configBytes.toString('utf8')) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
    const configName = `${content.manifest.config.digest.slice('sha256:'.length)}.json`;
    if (!configs.some((c) => c.name === configName)) configs.push({ name: configName, bytes: configBytes });
    const layerNames = content.manifest.layers.map((layer, i) => {
      const diffId = diffIds[i] as string;
      const name = `${diffId.slice('sha256:'.length)}.tar`;
      if (!planned.has(name)) layers.push({ name, layer, diffId });
      planned.add(name);
      return name;
    });
    const tags = content.input.names.map((n) => parseImageReference(n)).filter((r) => r.tag !== undefined && r.digest === undefined);
    entries.push({ Config: configName, RepoTags: tags.map((r) => familiarName(r)), Layers: layerNames });
  }
  await writer.addFile(DOCKER_MANIFEST_FILE, Buffer.from(`${JSON.stringify(entries)}\n`));
  for (const { name, bytes } of configs) await writer.addFile(name, bytes);
  for (const { name, layer, diffId } of layers) {
    const compression = layerCompression(layer.mediaType);
    if (compression === undefined) throw new DevenvError('ARCHIVE_UNSUPPORTED', `export: layer ${layer.digest} has media type \`${layer.mediaType}\`, not a layer`);
    if (compression === 'none') {
      if (layer.digest !== diffId) throw inconsistent(layer, layer.digest, diffId);
      await copyBlob(writer, source, layer, name);
      continue;
    }
    const measured = await measureDecompressed(source, layer, compression);
    if (measured.digest !== diffId) throw inconsistent(layer, measured.digest, diffId);
    await writer.addStream(name, measured.size, decompressedLayer(source, layer, compression));
  }
}
