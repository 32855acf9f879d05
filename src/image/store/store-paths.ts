import type { Hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { DevenvError } from '../../errors.js';

/** Where the image store keeps each kind of thing, below the devenv store root (docs/images.md, "Store layout"). */
export interface ImageStorePaths {
  /** The devenv store root (`--root`). */
  root: string;
  /** `<root>/images` */
  images: string;
  /** `images/blobs/sha256`: content-addressed blobs, one file per digest. */
  blobs: string;
  /** `images/ingest`: downloads in progress (`<hex>.partial`) and in-memory blobs being written (`<hex>.tmp-*`). */
  ingest: string;
  /** `images/layers`: unpacked layers by chain id. */
  layers: string;
  /** `images/layers-mapped`: copies of layers unpacked under other id mappings, `<mapping key>/<chain hex>/`. */
  mappedLayers: string;
  /** `images/locks`: per-blob (`<hex>`) and per-layer (`chain-<hex>`) lock files. */
  locks: string;
  /** `images/index.json`: references → manifest and config digests. */
  index: string;
  /** `images/index.lock`: held for each read-modify-write of index.json. */
  indexLock: string;
  /** `images/lock`: the store lock, shared by pulls and exclusive for rm and prune. */
  storeLock: string;
}

export function imageStorePaths(root: string): ImageStorePaths {
  const images = join(root, 'images');
  return {
    root,
    images,
    blobs: join(images, 'blobs', 'sha256'),
    ingest: join(images, 'ingest'),
    layers: join(images, 'layers'),
    mappedLayers: join(images, 'layers-mapped'),
    locks: join(images, 'locks'),
    index: join(images, 'index.json'),
    indexLock: join(images, 'index.lock'),
    storeLock: join(images, 'lock'),
  };
}

const SHA256 = /^sha256:([0-9a-f]{64})$/;

/** True for `sha256:` and 64 lowercase hex digits, the only digests the store holds. */
export function isStoreDigest(digest: string): boolean {
  return SHA256.test(digest);
}

/**
 * The hex part of a sha256 digest. Digests come from manifests and configs, i.e. from registries: anything else
 * (another algorithm, `../`) is refused before it can become part of a path.
 */
export function digestHex(digest: string): string {
  const match = SHA256.exec(digest);
  if (!match?.[1]) {
    throw new DevenvError('STORE_CORRUPT', `unsupported or malformed digest \`${digest.slice(0, 80)}\``, {
      kind: 'external',
      hint: 'devenv stores sha256 content only; the image (or its registry) uses something else.',
    });
  }
  return match[1];
}

let crypto: typeof import('node:crypto') | undefined;

/**
 * A sha256 hash object. node:crypto is loaded on first use: it costs ~6 ms, and `container run` of an image that
 * is already stored hashes nothing (docs/architecture.md, "Start-up time").
 */
export function createSha256(): Hash {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return crypto.createHash('sha256');
}

/** `sha256:<hex>` of some bytes or text. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createSha256().update(data).digest('hex')}`;
}

/** The 12-digit short form Docker prints for ids. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}
