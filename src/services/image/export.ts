import { DevenvError } from '../../errors.js';
import { ARCHIVE_FORMATS, type ArchiveFormat, type ExportArchiveResult, type ExportImageInput } from '../../image/archive/archive-types.js';
import { exportImage } from '../../image/archive/export-image.js';
import { storeBlobSource } from '../../image/archive/store-blobs.js';
import { DOCKER_MANIFEST, OCI_CONFIG, OCI_MANIFEST } from '../../image/registry/media-types.js';
import type { ImageStore } from '../../image/store/image-store.js';
import { requireImage } from './find-image.js';
import { openStoreFor, type ImageServiceContext } from './image-context.js';

export interface ExportOptions {
  /** The file (oci-archive, docker-archive) or directory (oci-dir) to write. */
  output: string;
  /** Default: oci-archive. */
  format?: ArchiveFormat;
}

/** What `image export` wrote; its `--json` form. */
export type ExportResult = ExportArchiveResult;

/** The export input of a stored image, named by the references the user meant. */
export function exportInputOf(store: ImageStore, text: string): ExportImageInput {
  const found = requireImage(store, text);
  const image = store.readImage(found.entry.manifestDigest);
  const size = store.blobs.size(image.manifestDigest) ?? store.blobs.readBytes(image.manifestDigest).length;
  const mediaType = image.manifest.mediaType ?? (image.manifest.config.mediaType === OCI_CONFIG ? OCI_MANIFEST : DOCKER_MANIFEST);
  return { names: found.references, manifest: { mediaType, digest: image.manifestDigest, size } };
}

/** Export stored images (`devenv image export debian:bookworm -o debian.tar`). */
export async function exportImages(ctx: ImageServiceContext, refs: string[], options: ExportOptions): Promise<ExportResult> {
  const format = options.format ?? 'oci-archive';
  if (!ARCHIVE_FORMATS.includes(format)) {
    throw new DevenvError('USAGE', `export: unknown format \`${format}\``, { hint: `Use one of: ${ARCHIVE_FORMATS.join(', ')}.` });
  }
  const store = openStoreFor(ctx);
  const lock = await store.lockShared(); // rm and prune wait until the blobs are copied
  try {
    const inputs = refs.map((ref) => exportInputOf(store, ref));
    return await exportImage(storeBlobSource(store.blobs), inputs, format, options.output);
  } finally {
    lock.release();
  }
}
