import type { Hash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { DevenvError, isErrnoCode } from '../../errors.js';
import type { Descriptor } from '../types.js';
import { blobLockPath, lockFile, tryLockFile } from './store-locks.js';
import { createSha256, digestHex, type ImageStorePaths, sha256Digest, shortDigest } from './store-paths.js';

/** Opens a blob's byte stream from `offset` (a registry's `fetchBlob`); `resumed` false means it starts at 0. */
export type BlobFetch = (offset: number) => Promise<{ body: AsyncIterable<Uint8Array>; resumed: boolean }>;

/** How to ingest one blob. */
export interface IngestOptions {
  /** Bytes held so far (counting a resumed partial) and the blob's size; called for every chunk. */
  onProgress?: (done: number, total: number) => void;
  /** Called once when another command (or call) holds the blob's lock: we wait for it, then find the blob. */
  onWait?: () => void;
  signal?: AbortSignal;
  /** A body that ends early or breaks is resumed from where it stopped, up to this many tries (default 3). */
  attempts?: number;
  /** How long to wait for another download of the same blob (default one hour). */
  lockTimeoutMs?: number;
}

/** What `ingest` did. */
export interface IngestResult {
  digest: string;
  path: string;
  /** The blob was already in the store (possibly written by a concurrent download we waited for). */
  existed: boolean;
  /** Bytes of a previous partial download that were kept. */
  resumedFrom: number;
  /** Bytes received in this call. */
  downloaded: number;
}

/** Content-addressed blobs: manifests, configs and compressed layers, each stored once under its sha256. */
export interface ContentStore {
  has(digest: string): boolean;
  /** Path of the blob's file (whether or not it exists). */
  path(digest: string): string;
  /** Size in bytes, undefined when absent. */
  size(digest: string): number | undefined;
  readBytes(digest: string): Buffer;
  readJson<T>(digest: string): T;
  /** Store bytes we hold in memory; checks them against `expectedDigest` when given. Returns the digest. */
  put(bytes: Buffer, expectedDigest?: string): string;
  /**
   * Download a blob into the store: streamed to `ingest/<hex>.partial` while hashing, resumed from that file's size
   * (HTTP Range through `fetch`), size and digest verified, fsynced, renamed into `blobs/`. Content that does not
   * match is deleted and DIGEST_MISMATCH thrown; nothing reaches `blobs/` unverified. One download per blob at a
   * time: a second caller waits on the blob's lock and then finds it stored.
   */
  ingest(descriptor: Descriptor, fetch: BlobFetch, options?: IngestOptions): Promise<IngestResult>;
  /** Re-hash a stored blob; true when its content still matches its name. */
  verify(digest: string): Promise<boolean>;
  /** Every stored digest. */
  list(): string[];
  remove(digest: string): void;
}

/** A body that ended before the descriptor's size: worth resuming, not a corrupt download. */
class ShortBodyError extends Error {}

/** A body whose stream failed (connection reset…): worth resuming. */
class BrokenBodyError extends Error {
  constructor(override readonly cause: unknown) {
    super('body broke');
  }
}

function brokenBodyError(descriptor: Descriptor, cause: unknown): DevenvError {
  if (cause instanceof DevenvError) return cause;
  return new DevenvError('REGISTRY_UNAVAILABLE', `blob ${descriptor.digest}: the download broke off`, {
    kind: 'external',
    hint: 'Retry the pull; it resumes where it stopped.',
    cause,
  });
}

interface DownloadCounts {
  /** Bytes of an earlier partial kept by the first try. */
  resumedFrom?: number;
  downloaded: number;
}

let tmpCounter = 0;

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function hashFilePrefix(path: string, length: number, hash: Hash): Promise<void> {
  if (length === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) hash.update(chunk as Buffer);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not all filesystems allow fsync on a directory; the blob itself is synced
  }
}

function mismatch(descriptor: Descriptor, what: string): DevenvError {
  return new DevenvError('DIGEST_MISMATCH', `blob ${descriptor.digest}: ${what}`, {
    kind: 'external',
    hint: 'The registry (or a proxy or mirror in between) served different content than the image names; retry, or check the mirror.',
  });
}

/** The content store on the local filesystem (`images/blobs/sha256/<hex>`). */
export class FsContentStore implements ContentStore {
  constructor(private readonly paths: ImageStorePaths) {}

  path(digest: string): string {
    return join(this.paths.blobs, digestHex(digest));
  }

  has(digest: string): boolean {
    return existsSync(this.path(digest));
  }

  size(digest: string): number | undefined {
    try {
      return statSync(this.path(digest)).size;
    } catch {
      return undefined;
    }
  }

  readBytes(digest: string): Buffer {
    try {
      return readFileSync(this.path(digest));
    } catch (error) {
      if (!isErrnoCode(error, 'ENOENT')) throw error;
      throw new DevenvError('STORE_CORRUPT', `blob ${digest} is missing from the image store`, {
        kind: 'external',
        hint: 'Pull the image again (`devenv image pull …`).',
      });
    }
  }

  readJson<T>(digest: string): T {
    const bytes = this.readBytes(digest);
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch (error) {
      throw new DevenvError('STORE_CORRUPT', `blob ${digest} is not valid JSON`, { kind: 'external', cause: error });
    }
  }

  put(bytes: Buffer, expectedDigest?: string): string {
    const digest = sha256Digest(bytes);
    if (expectedDigest !== undefined && expectedDigest !== digest) {
      throw mismatch({ mediaType: '', digest: expectedDigest, size: bytes.length }, `received content has digest ${digest}`);
    }
    const final = this.path(digest);
    if (existsSync(final)) return digest;
    const tmp = join(this.paths.ingest, `${digestHex(digest)}.tmp-${process.pid}-${(tmpCounter += 1)}`);
    const fd = openSync(tmp, 'w', 0o444);
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, final);
    fsyncDir(this.paths.blobs);
    return digest;
  }

  async ingest(descriptor: Descriptor, fetch: BlobFetch, options: IngestOptions = {}): Promise<IngestResult> {
    const hex = digestHex(descriptor.digest);
    const final = this.path(descriptor.digest);
    const existed: IngestResult = { digest: descriptor.digest, path: final, existed: true, resumedFrom: 0, downloaded: 0 };
    if (existsSync(final)) return existed;
    const lockPath = blobLockPath(this.paths, hex);
    let lock = tryLockFile(lockPath);
    if (!lock) {
      options.onWait?.();
      lock = await lockFile(lockPath, {
        what: `blob ${shortDigest(descriptor.digest)}`,
        timeoutMs: options.lockTimeoutMs ?? 3_600_000,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
    try {
      if (existsSync(final)) return existed;
      const partial = join(this.paths.ingest, `${hex}.partial`);
      const attempts = Math.max(1, options.attempts ?? 3);
      const counts: DownloadCounts = { downloaded: 0 };
      for (let attempt = 1; ; attempt += 1) {
        try {
          await this.downloadOnce(descriptor, partial, fetch, options, counts);
          break;
        } catch (error) {
          // Only a body that broke or ended early is retried here (resuming from the partial): failures to start a
          // download were already retried by the registry client, and bad content is not worth a second try.
          const broken = error instanceof BrokenBodyError || error instanceof ShortBodyError;
          if (broken && attempt < attempts && options.signal?.aborted !== true) continue;
          if (error instanceof BrokenBodyError) throw brokenBodyError(descriptor, error.cause);
          if (error instanceof ShortBodyError) {
            throw new DevenvError('REGISTRY_UNAVAILABLE', `blob ${descriptor.digest}: the download ended early ${attempts} times`, {
              kind: 'external',
              hint: 'Retry the pull; it resumes where it stopped.',
            });
          }
          throw error;
        }
      }
      renameSync(partial, final);
      fsyncDir(this.paths.blobs);
      return { digest: descriptor.digest, path: final, existed: false, resumedFrom: counts.resumedFrom ?? 0, downloaded: counts.downloaded };
    } finally {
      lock.release();
    }
  }

  private async downloadOnce(
    descriptor: Descriptor,
    partial: string,
    fetch: BlobFetch,
    options: IngestOptions,
    counts: DownloadCounts,
  ): Promise<void> {
    let offset = fileSize(partial);
    if (offset > descriptor.size) offset = 0;
    let hash = createSha256();
    await hashFilePrefix(partial, offset, hash);
    if (offset === descriptor.size) {
      // Complete already (a crash between the last write and the rename, or an empty blob): no request at all.
      if (`sha256:${hash.copy().digest('hex')}` === descriptor.digest) {
        const { open } = await import('node:fs/promises');
        const handle = await open(partial, offset > 0 ? 'r+' : 'w', 0o644);
        try {
          await handle.sync();
          await handle.chmod(0o444);
        } finally {
          await handle.close();
        }
        counts.resumedFrom ??= offset;
        return;
      }
      offset = 0;
      hash = createSha256();
    }
    const { body, resumed } = await fetch(offset);
    if (offset > 0 && !resumed) {
      offset = 0;
      hash = createSha256();
    }
    const { open } = await import('node:fs/promises');
    const handle = await open(partial, offset > 0 ? 'r+' : 'w', 0o644);
    counts.resumedFrom ??= offset;
    let done = offset;
    try {
      options.onProgress?.(done, descriptor.size);
      const chunks = body[Symbol.asyncIterator]();
      for (;;) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await chunks.next();
        } catch (error) {
          throw new BrokenBodyError(error);
        }
        if (step.done) break;
        const chunk = step.value;
        if (done + chunk.length > descriptor.size) {
          await chunks.return?.();
          await handle.close().catch(() => undefined);
          rmSync(partial, { force: true });
          throw mismatch(descriptor, `the registry sent more than the ${descriptor.size} bytes the manifest names`);
        }
        await handle.write(chunk, 0, chunk.length, done);
        hash.update(chunk);
        done += chunk.length;
        counts.downloaded += chunk.length;
        options.onProgress?.(done, descriptor.size);
      }
      if (done < descriptor.size) throw new ShortBodyError();
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== descriptor.digest) {
        await handle.close().catch(() => undefined);
        rmSync(partial, { force: true });
        throw mismatch(descriptor, `received content has digest ${actual}`);
      }
      await handle.sync();
      await handle.chmod(0o444);
    } finally {
      // On a broken or short body the partial stays: the next try (or the next pull) resumes from it.
      await handle.close().catch(() => undefined);
    }
  }

  async verify(digest: string): Promise<boolean> {
    const hash = createSha256();
    try {
      for await (const chunk of createReadStream(this.path(digest))) hash.update(chunk as Buffer);
    } catch {
      return false;
    }
    return `sha256:${hash.digest('hex')}` === digest;
  }

  list(): string[] {
    try {
      return readdirSync(this.paths.blobs)
        .filter((name) => /^[0-9a-f]{64}$/.test(name))
        .map((name) => `sha256:${name}`);
    } catch {
      return [];
    }
  }

  remove(digest: string): void {
    rmSync(this.path(digest), { force: true });
  }
}
