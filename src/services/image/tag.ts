import { DevenvError } from '../../errors.js';
import { formatReference, parseImageReference } from '../../image/reference.js';
import { requireImage } from './find-image.js';
import { openStoreFor, type ImageServiceContext } from './image-context.js';

/** What `image tag` did. */
export interface TagImageResult {
  source: string;
  target: string;
  manifestDigest: string;
}

/** Give an image another reference (`devenv image tag debian:bookworm my/base:1`). */
export async function tagImage(ctx: ImageServiceContext, source: string, target: string): Promise<TagImageResult> {
  const targetRef = parseImageReference(target);
  if (targetRef.digest !== undefined) {
    throw new DevenvError('USAGE', `cannot tag with a digest: \`${target}\``, { hint: 'A tag names an image; a digest is its content. Use name[:tag].' });
  }
  const store = openStoreFor(ctx);
  const lock = await store.lockShared(); // an rm or prune must not remove the image between lookup and tag
  try {
    const found = requireImage(store, source);
    const reference = formatReference(targetRef);
    await store.index.set(reference, { ...found.entry, created: new Date().toISOString() });
    return { source: found.references[0] ?? source, target: reference, manifestDigest: found.entry.manifestDigest };
  } finally {
    lock.release();
  }
}
