import { createHash } from 'node:crypto';

import { DevenvError } from '../../errors.js';
import type { Descriptor } from '../types.js';
import type { ArchiveWriter } from './archive-writer.js';
import { MAX_METADATA_BYTES, type BlobSource, type ExportImageInput, type ManifestDocument } from './archive-types.js';
import { collectBody, parseArchiveJson } from './blob-streams.js';
import { checkBytes, checkDescriptor } from './import-plan.js';

/** An image to export with its manifest read from the source. */
export interface ExportContent {
  input: ExportImageInput;
  manifestBytes: Buffer;
  manifest: ManifestDocument;
}

function corrupt(digest: string, what: string): DevenvError {
  return new DevenvError('STORE_CORRUPT', `export: blob ${digest} ${what}`, {
    kind: 'external',
    hint: 'The image store is damaged; pull the image again (`devenv image pull …`).',
  });
}

/** Read (and verify) the manifests of the images to export. */
export async function loadExportContent(source: BlobSource, images: ExportImageInput[]): Promise<ExportContent[]> {
  const out: ExportContent[] = [];
  for (const input of images) {
    const bytes = await readSmallBlob(source, input.manifest.digest);
    const value = parseArchiveJson(bytes, 'export', `manifest ${input.manifest.digest}`) as Partial<ManifestDocument>;
    const config = checkDescriptor(value.config, 'export', `the config of manifest ${input.manifest.digest}`);
    const layers = (Array.isArray(value.layers) ? value.layers : []).map((l, i) => checkDescriptor(l, 'export', `layer ${i + 1} of ${input.manifest.digest}`));
    out.push({ input, manifestBytes: bytes, manifest: { ...value, config, layers } as ManifestDocument });
  }
  return out;
}

/** A small blob (manifest, config) from the source, verified. */
export async function readSmallBlob(source: BlobSource, digest: string): Promise<Buffer> {
  const size = source.blobSize(digest);
  const bytes = await collectBody(source.readBlob(digest), MAX_METADATA_BYTES, () => `export: blob ${digest}`);
  try {
    checkBytes(bytes, { mediaType: '', digest, size }, 'export', 'blob');
  } catch {
    throw corrupt(digest, 'does not match its digest');
  }
  return bytes;
}

/** The source's blob as a stream that fails (STORE_CORRUPT) at its end if the content does not match the digest. */
export async function* verifiedSourceBlob(source: BlobSource, descriptor: Descriptor): AsyncIterable<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source.readBlob(descriptor.digest)) {
    size += chunk.length;
    hash.update(chunk);
    yield chunk;
  }
  if (size !== descriptor.size || `sha256:${hash.digest('hex')}` !== descriptor.digest) throw corrupt(descriptor.digest, 'does not match its digest');
}

/** Copy a blob of the source into the archive under `name`. */
export async function copyBlob(writer: ArchiveWriter, source: BlobSource, descriptor: Descriptor, name: string): Promise<void> {
  const size = source.blobSize(descriptor.digest);
  if (size !== descriptor.size) throw corrupt(descriptor.digest, `has ${size} bytes, its manifest names ${descriptor.size}`);
  await writer.addStream(name, size, verifiedSourceBlob(source, descriptor));
}
