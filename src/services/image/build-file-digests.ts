import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';

import { writeJsonAtomic } from '../../host/atomic-file.js';

/** What identifies a file's content without reading it: device, inode, size, and modification and change times. */
interface DigestRecord {
  id: string;
  digest: string;
}

/**
 * The sha256 of files COPY/ADD read, remembered across builds by path and stat (device, inode, size, mtime and
 * ctime, to the nanosecond as the file system keeps them), so an unchanged build context is not read again. A
 * file changed within the last two seconds is hashed but not remembered: its next change could land in the same
 * timestamp (git's "racy" files). Kept in `<root>/images/build-cache/file-digests.json`, rewritten only when it
 * changed; a damaged file is ignored (everything is hashed again).
 */
export class FileDigests {
  private readonly records = new Map<string, DigestRecord>();
  private readonly seen = new Set<string>();
  private dirty = false;

  constructor(
    private readonly file: string,
    private readonly now: () => number = Date.now,
  ) {
    try {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { files?: Record<string, DigestRecord> };
      for (const [path, r] of Object.entries(doc.files ?? {})) {
        if (typeof r?.id === 'string' && typeof r.digest === 'string') this.records.set(path, r);
      }
    } catch {
      // none yet, or unreadable: start empty
    }
  }

  /** The sha256 (hex) of the regular file at `path`, whose lstat is `st`. */
  digest(path: string, st: Stats): string {
    this.seen.add(path);
    const id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    const known = this.records.get(path);
    if (known && known.id === id) return known.digest;
    const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
    const digest = crypto.createHash('sha256').update(readFileSync(path)).digest('hex');
    const settled = this.now() - Math.max(st.mtimeMs, st.ctimeMs) > 2000;
    if (settled) {
      this.records.set(path, { id, digest });
      this.dirty = true;
    } else if (known) {
      this.records.delete(path);
      this.dirty = true;
    }
    return digest;
  }

  /** Write the records back when they changed, keeping only files this build looked at and at most `limit` others. */
  save(limit = 20_000): void {
    if (!this.dirty) return;
    const files: Record<string, DigestRecord> = {};
    let others = 0;
    for (const [path, r] of this.records) {
      if (!this.seen.has(path) && ++others > limit) continue;
      files[path] = r;
    }
    try {
      mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o755 });
      writeJsonAtomic(this.file, { files });
    } catch {
      // a cache: the next build hashes again
    }
  }
}

/** The file digest cache of a store root. */
export function openFileDigests(root: string, now?: () => number): FileDigests {
  return new FileDigests(join(root, 'images', 'build-cache', 'file-digests.json'), now);
}
