import { createReadStream } from 'node:fs';

import { DevenvError } from '../../errors.js';
import type { ContentStore } from '../store/image-store.js';
import type { BlobSink, BlobSource } from './archive-types.js';

/** The image store's blobs as the source of an export or a push. */
export function storeBlobSource(blobs: ContentStore): BlobSource {
  return {
    blobSize(digest) {
      const size = blobs.size(digest);
      if (size === undefined) {
        throw new DevenvError('STORE_CORRUPT', `blob ${digest} is missing from the image store`, {
          kind: 'external',
          hint: 'Pull the image again (`devenv image pull …`).',
        });
      }
      return size;
    },
    readBlob: (digest) => createReadStream(blobs.path(digest)),
  };
}

/**
 * The image store's blobs as the destination of an import: `ingest` streams to `ingest/<hex>.partial`, checks size
 * and digest, and only then renames into `blobs/` (the archive layer's verifying body fails before that when the
 * content is wrong). One try: an archive body cannot be resumed.
 */
export function storeBlobSink(blobs: ContentStore): BlobSink {
  return {
    hasBlob: (digest) => blobs.has(digest),
    async writeBlob(descriptor, body) {
      await blobs.ingest(descriptor, async () => ({ body, resumed: false }), { attempts: 1 });
    },
  };
}
