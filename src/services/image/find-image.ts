import { DevenvError } from '../../errors.js';
import { familiarName, formatReference, parseImageReference } from '../../image/reference.js';
import type { ImageIndexEntry, ImageStore } from '../../image/store/image-store.js';

/** An image of the index found from what a user typed. */
export interface FoundImage {
  /** How `text` matched: a reference, or (a prefix of) the image id. */
  matchedBy: 'reference' | 'id';
  /** The references meant: the one typed, or every reference of the image when found by id. */
  references: string[];
  entry: ImageIndexEntry;
}

const ID_LIKE = /^(?:sha256:)?([0-9a-f]{4,64})$/;

function byId(store: ImageStore, hex: string): FoundImage | undefined {
  const entries = store.index.entries();
  const matching = entries.filter(([, e]) => e.configDigest.slice('sha256:'.length).startsWith(hex) || e.manifestDigest === `sha256:${hex}`);
  const configs = new Set(matching.map(([, e]) => e.configDigest));
  if (configs.size > 1) {
    throw new DevenvError('USAGE', `image id \`${hex}\` is ambiguous: it matches ${configs.size} images`, { hint: 'Use more digits of the id.' });
  }
  const first = matching[0];
  if (!first) return undefined;
  return { matchedBy: 'id', references: matching.map(([ref]) => ref), entry: first[1] };
}

/**
 * Find an image by reference (`debian`, `docker.io/library/debian:latest`, `x@sha256:…` — also when it was pulled by
 * tag and the digest is its manifest or index digest) or by image id (a prefix of the config digest, as Docker).
 */
export function findImage(store: ImageStore, text: string): FoundImage | undefined {
  const id = ID_LIKE.exec(text)?.[1];
  if (id) {
    const found = byId(store, id);
    if (found) return found;
    if (id.length === 64) return undefined; // a full id is never a repository name
  }
  const ref = parseImageReference(text);
  const key = formatReference(ref);
  const entry = store.index.get(key);
  if (entry) return { matchedBy: 'reference', references: [key], entry };
  if (ref.digest !== undefined) {
    const repository = `${ref.registry}/${ref.repository}`;
    const same = store.index
      .entries()
      .find(([r, e]) => r.startsWith(repository) && /^[:@]/.test(r.slice(repository.length)) && (e.manifestDigest === ref.digest || e.indexDigest === ref.digest));
    if (same) return { matchedBy: 'reference', references: [same[0]], entry: same[1] };
  }
  return undefined;
}

/** As findImage, throwing IMAGE_NOT_FOUND. */
export function requireImage(store: ImageStore, text: string): FoundImage {
  const found = findImage(store, text);
  if (found) return found;
  let name = text;
  try {
    name = familiarName(parseImageReference(text));
  } catch {
    // keep what was typed
  }
  throw new DevenvError('IMAGE_NOT_FOUND', `no such image: \`${name}\``, {
    hint: `Pull it first (\`devenv image pull ${name}\`), or run \`devenv image ls\` to see the images in this store.`,
  });
}
