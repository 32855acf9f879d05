import { readFileSync } from 'node:fs';

import { DevenvError, isErrnoCode } from '../../errors.js';
import { writeJsonAtomic } from '../../host/atomic-file.js';
import { lockFile, tryLockFile } from './store-locks.js';
import type { ImageStorePaths } from './store-paths.js';

/** What a reference names in the store. */
export interface ImageIndexEntry {
  /** The single-platform image manifest. */
  manifestDigest: string;
  configDigest: string;
  /** When this reference was recorded (pulled or tagged), ISO 8601. */
  created: string;
  /** The image index (multi-platform list) the manifest was chosen from, when there was one. */
  indexDigest?: string;
  /** Chain ids of the layers, bottom-most first (derivable from the config; kept so a container start hashes nothing). */
  chainIds?: string[];
}

/** `images/index.json`. */
export interface ImageIndexDocument {
  images: Record<string, ImageIndexEntry>;
}

/**
 * References (normalised, `docker.io/library/debian:bookworm`) → image. Reads are fresh each time; every change is
 * a read-modify-write under `images/index.lock`, written atomically (temp file, fsync, rename).
 */
export interface ImageIndex {
  read(): ImageIndexDocument;
  get(reference: string): ImageIndexEntry | undefined;
  /** All references, sorted. */
  entries(): Array<[reference: string, entry: ImageIndexEntry]>;
  /** Point `reference` at an image (tag). */
  set(reference: string, entry: ImageIndexEntry): Promise<void>;
  /** Forget `reference` (untag); false when it was not there. */
  remove(reference: string): Promise<boolean>;
  /** Change the index under its lock; fn mutates `images` in place. */
  update<T>(fn: (images: Record<string, ImageIndexEntry>) => T): Promise<T>;
  /** As update, without waiting: undefined when another command holds the index lock (used by repair). */
  tryUpdate<T>(fn: (images: Record<string, ImageIndexEntry>) => T): { value: T } | undefined;
}

function isEntry(value: unknown): value is ImageIndexEntry {
  const e = value as Partial<ImageIndexEntry> | null;
  return typeof e === 'object' && e !== null && typeof e.manifestDigest === 'string' && typeof e.configDigest === 'string';
}

/** Parse index.json text; throws STORE_CORRUPT when it is not an index. */
export function parseImageIndex(text: string, path: string): ImageIndexDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw corrupt(path, error);
  }
  const images = (doc as { images?: unknown } | null)?.images;
  if (typeof images !== 'object' || images === null || Array.isArray(images)) throw corrupt(path);
  const out: Record<string, ImageIndexEntry> = {};
  for (const [ref, entry] of Object.entries(images)) {
    if (isEntry(entry)) out[ref] = { ...entry, created: typeof entry.created === 'string' ? entry.created : '' };
  }
  return { images: out };
}

function corrupt(path: string, cause?: unknown): DevenvError {
  return new DevenvError('STORE_CORRUPT', `the image index ${path} is unreadable`, {
    kind: 'external',
    hint: 'Any devenv image command moves it aside and starts a new one; pull your images again afterwards.',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** index.json on the local filesystem. */
export class FsImageIndex implements ImageIndex {
  constructor(private readonly paths: ImageStorePaths) {}

  read(): ImageIndexDocument {
    let text: string;
    try {
      text = readFileSync(this.paths.index, 'utf8');
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) return { images: {} };
      throw error;
    }
    return parseImageIndex(text, this.paths.index);
  }

  get(reference: string): ImageIndexEntry | undefined {
    return this.read().images[reference];
  }

  entries(): Array<[string, ImageIndexEntry]> {
    return Object.entries(this.read().images).sort(([a], [b]) => byCodeUnits(a, b));
  }

  async set(reference: string, entry: ImageIndexEntry): Promise<void> {
    await this.update((images) => {
      images[reference] = entry;
    });
  }

  async remove(reference: string): Promise<boolean> {
    return this.update((images) => {
      if (!(reference in images)) return false;
      delete images[reference];
      return true;
    });
  }

  async update<T>(fn: (images: Record<string, ImageIndexEntry>) => T): Promise<T> {
    const lock = await lockFile(this.paths.indexLock, { what: 'image index' });
    try {
      return this.change(fn);
    } finally {
      lock.release();
    }
  }

  tryUpdate<T>(fn: (images: Record<string, ImageIndexEntry>) => T): { value: T } | undefined {
    const lock = tryLockFile(this.paths.indexLock);
    if (!lock) return undefined;
    try {
      return { value: this.change(fn) };
    } finally {
      lock.release();
    }
  }

  private change<T>(fn: (images: Record<string, ImageIndexEntry>) => T): T {
    const doc = this.read();
    const before = JSON.stringify(doc);
    const value = fn(doc.images);
    if (JSON.stringify(doc) !== before) writeJsonAtomic(this.paths.index, sortedDocument(doc), { durable: true });
    return value;
  }
}

function sortedDocument(doc: ImageIndexDocument): ImageIndexDocument {
  return { images: Object.fromEntries(Object.entries(doc.images).sort(([a], [b]) => byCodeUnits(a, b))) };
}

/** Sort order of references: by UTF-16 code units, the same everywhere (localeCompare would load ICU's collator, ~10 ms). */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
