import { DevenvError } from '../../errors.js';
import type { ImportedImage } from '../../image/archive/archive-types.js';
import { importImageArchive } from '../../image/archive/import-archive.js';
import { storeBlobSink } from '../../image/archive/store-blobs.js';
import { formatReference, parseImageReference } from '../../image/reference.js';
import { computeChainIds } from '../../image/store/image-store.js';
import type { Platform } from '../../image/types.js';
import { openStoreFor, type ImageServiceContext } from './image-context.js';

export interface ImportOptions {
  /** Name every image of the archive by this reference (there must be one image); overrides the archive's names. */
  name?: string;
  /** The platform to pick from a multi-platform archive (default: the host's). */
  platform?: Platform;
}

/** What `image import` did; its `--json` form. */
export interface ImportResult {
  format: string;
  images: Array<{ references: string[]; manifestDigest: string; configDigest: string; indexDigest?: string }>;
  /** Blobs the store did not have yet, and their bytes. */
  blobsWritten: number;
  bytesWritten: number;
}

/** A bare tag (`latest`, as skopeo writes `org.opencontainers.image.ref.name`) names no repository. */
const BARE_TAG = /^[\w][\w.-]{0,127}$/;

/** The normalised references an archive's names give an image; bare tags are dropped (they name no repository). */
export function referencesOf(image: ImportedImage): string[] {
  const out: string[] = [];
  for (const name of image.names) {
    if (BARE_TAG.test(name)) continue;
    const reference = formatReference(parseImageReference(name));
    if (!out.includes(reference)) out.push(reference);
  }
  return out;
}

function namesFor(images: ImportedImage[], path: string, name: string | undefined): string[][] {
  if (name !== undefined) {
    const ref = parseImageReference(name);
    if (images.length !== 1) {
      throw new DevenvError('USAGE', `import \`${path}\`: the archive holds ${images.length} images; --name can name only one`, {
        hint: 'Import without --name to keep the names the archive gives, then `devenv image tag` them.',
      });
    }
    return [[formatReference(ref)]];
  }
  return images.map((image) => {
    const references = referencesOf(image);
    if (references.length > 0) return references;
    const tags = image.names.length > 0 ? ` (only the tag${image.names.length > 1 ? 's' : ''} ${image.names.map((n) => `\`${n}\``).join(', ')})` : '';
    throw new DevenvError('USAGE', `import \`${path}\`: the archive does not name image ${image.manifest.digest}${tags}`, {
      hint: 'Give it a name: `devenv image import FILE --name my/image:tag`.',
    });
  });
}

/**
 * Import an image archive (oci-archive, docker-archive, or an OCI layout directory) into the store: blobs are
 * verified and stored, then each image is recorded under its references. Layers are unpacked when a container
 * first uses the image (resolveImage), as for any stored image whose layer directories are absent.
 */
export async function importImage(ctx: ImageServiceContext, path: string, options: ImportOptions = {}): Promise<ImportResult> {
  const store = openStoreFor(ctx);
  const lock = await store.lockShared(); // a prune must not collect the blobs before the index names them
  try {
    const result = await importImageArchive(path, storeBlobSink(store.blobs), options.platform ? { platform: options.platform } : {});
    const names = namesFor(result.images, path, options.name);
    const images: ImportResult['images'] = [];
    for (const [i, image] of result.images.entries()) {
      const content = store.readImage(image.manifest.digest); // checks what was stored, as a pull does
      const references = names[i] ?? [];
      const created = new Date().toISOString();
      for (const reference of references) {
        await store.index.set(reference, {
          manifestDigest: image.manifest.digest,
          configDigest: content.configDigest,
          created,
          ...(image.indexDigest ? { indexDigest: image.indexDigest } : {}),
          chainIds: computeChainIds(content.config.rootfs.diff_ids),
        });
      }
      images.push({
        references,
        manifestDigest: image.manifest.digest,
        configDigest: content.configDigest,
        ...(image.indexDigest ? { indexDigest: image.indexDigest } : {}),
      });
      ctx.logger.debug(`imported ${image.manifest.digest} as ${references.join(', ')}`);
    }
    return { format: result.format, images, blobsWritten: result.blobsWritten, bytesWritten: result.bytesWritten };
  } finally {
    lock.release();
  }
}
