import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import type { BlobFetch } from '../../../../src/image/store/image-store.js';
import { openImageStore, type ImageStore } from '../../../../src/image/store/image-store.js';
import type { Descriptor } from '../../../../src/image/types.js';
import { sha256, tempRoot } from '../../services/image/image-fixtures.js';

function blobOf(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function descriptorOf(bytes: Buffer): Descriptor {
  return { mediaType: 'application/octet-stream', digest: sha256(bytes), size: bytes.length };
}

/** Serves `bytes` from the offset asked for (or from 0 when `honourRange` is false), in small chunks. */
function serve(bytes: Buffer, options: { honourRange?: boolean; breakAfter?: number; calls?: number[] } = {}): BlobFetch {
  return async (offset) => {
    options.calls?.push(offset);
    const start = options.honourRange === false ? 0 : offset;
    const breakAfter = options.breakAfter;
    options.breakAfter = undefined; // only the first body breaks
    async function* body(): AsyncIterable<Uint8Array> {
      let sent = 0;
      for (let at = start; at < bytes.length; at += 100) {
        if (breakAfter !== undefined && sent >= breakAfter) throw new Error('connection reset');
        const chunk = bytes.subarray(at, at + 100);
        sent += chunk.length;
        yield chunk;
        await new Promise((r) => setImmediate(r));
      }
    }
    return { body: body(), resumed: start > 0 };
  };
}

let root: string;
let cleanup: () => void;
let store: ImageStore;

beforeEach(() => {
  ({ root, cleanup } = tempRoot());
  store = openImageStore(root);
});
afterEach(() => cleanup());

describe('content store', () => {
  it('ingests a blob: verified, read-only, named by its digest, nothing left in ingest/', async () => {
    const bytes = blobOf(1000);
    const progress: number[] = [];
    const result = await store.blobs.ingest(descriptorOf(bytes), serve(bytes), { onProgress: (done) => progress.push(done) });
    expect(result).toMatchObject({ existed: false, resumedFrom: 0, downloaded: 1000 });
    expect(readFileSync(store.blobs.path(sha256(bytes)))).toEqual(bytes);
    expect(statSync(result.path).mode & 0o777).toBe(0o444);
    expect(progress.at(-1)).toBe(1000);
    expect(readdirSync(store.paths.ingest)).toEqual([]);
    expect(store.blobs.list()).toEqual([sha256(bytes)]);
    expect(await store.blobs.verify(sha256(bytes))).toBe(true);
  });

  it('resumes from a partial download with a Range request', async () => {
    const bytes = blobOf(1000);
    const hex = sha256(bytes).slice(7);
    writeFileSync(join(store.paths.ingest, `${hex}.partial`), bytes.subarray(0, 420));
    const calls: number[] = [];
    const result = await store.blobs.ingest(descriptorOf(bytes), serve(bytes, { calls }));
    expect(calls).toEqual([420]);
    expect(result).toMatchObject({ resumedFrom: 420, downloaded: 580 });
    expect(readFileSync(result.path)).toEqual(bytes);
  });

  it('finishes a complete partial (killed before its rename) without a request, and stores empty blobs', async () => {
    const bytes = blobOf(1000);
    writeFileSync(join(store.paths.ingest, `${sha256(bytes).slice(7)}.partial`), bytes);
    const calls: number[] = [];
    const result = await store.blobs.ingest(descriptorOf(bytes), serve(bytes, { calls }));
    expect(calls).toEqual([]);
    expect(result).toMatchObject({ existed: false, resumedFrom: 1000, downloaded: 0 });
    const empty = await store.blobs.ingest(descriptorOf(Buffer.alloc(0)), serve(Buffer.alloc(0), { calls }));
    expect(calls).toEqual([]);
    expect(readFileSync(empty.path)).toEqual(Buffer.alloc(0));
  });

  it('starts over when the server ignores the Range request', async () => {
    const bytes = blobOf(1000);
    writeFileSync(join(store.paths.ingest, `${sha256(bytes).slice(7)}.partial`), bytes.subarray(0, 420));
    const result = await store.blobs.ingest(descriptorOf(bytes), serve(bytes, { honourRange: false }));
    expect(result.downloaded).toBe(1000);
    expect(readFileSync(result.path)).toEqual(bytes);
  });

  it('resumes within one ingest when the body breaks half-way', async () => {
    const bytes = blobOf(1000);
    const calls: number[] = [];
    const result = await store.blobs.ingest(descriptorOf(bytes), serve(bytes, { breakAfter: 300, calls }));
    expect(calls).toEqual([0, 300]);
    expect(readFileSync(result.path)).toEqual(bytes);
  });

  it('rejects content with the wrong digest: nothing renamed into blobs/, the partial removed', async () => {
    const bytes = blobOf(1000);
    const other = blobOf(1000, 7);
    const error = await store.blobs.ingest(descriptorOf(bytes), serve(other)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DevenvError);
    expect((error as DevenvError).code).toBe('DIGEST_MISMATCH');
    expect(store.blobs.has(sha256(bytes))).toBe(false);
    expect(store.blobs.has(sha256(other))).toBe(false);
    expect(readdirSync(store.paths.ingest)).toEqual([]);
    expect(store.blobs.list()).toEqual([]);
  });

  it('rejects a body longer than the descriptor says', async () => {
    const bytes = blobOf(1000);
    const error = await store.blobs.ingest({ ...descriptorOf(bytes), size: 900 }, serve(bytes)).catch((e: unknown) => e);
    expect((error as DevenvError).code).toBe('DIGEST_MISMATCH');
    expect(readdirSync(store.paths.ingest)).toEqual([]);
  });

  it('downloads a blob once when two callers write it at the same time', async () => {
    const bytes = blobOf(5000);
    const calls: number[] = [];
    const waits: string[] = [];
    const [a, b] = await Promise.all([
      store.blobs.ingest(descriptorOf(bytes), serve(bytes, { calls }), { onWait: () => waits.push('a') }),
      store.blobs.ingest(descriptorOf(bytes), serve(bytes, { calls }), { onWait: () => waits.push('b') }),
    ]);
    expect(calls).toEqual([0]);
    expect([a.existed, b.existed].sort()).toEqual([false, true]);
    expect(waits).toHaveLength(1);
    expect(readFileSync(a.path)).toEqual(bytes);
  });

  it('a second store opened on the same root (another process) also waits for the first download', async () => {
    const bytes = blobOf(5000);
    const other = openImageStore(root);
    const calls: number[] = [];
    await Promise.all([store.blobs.ingest(descriptorOf(bytes), serve(bytes, { calls })), other.blobs.ingest(descriptorOf(bytes), serve(bytes, { calls }))]);
    expect(calls).toEqual([0]);
  });

  it('put stores in-memory bytes and checks an expected digest', () => {
    const bytes = Buffer.from('{"a":1}');
    expect(store.blobs.put(bytes)).toBe(sha256(bytes));
    expect(store.blobs.readJson(sha256(bytes))).toEqual({ a: 1 });
    expect(() => store.blobs.put(Buffer.from('x'), sha256(bytes))).toThrow(/digest/);
    expect(existsSync(store.blobs.path(sha256('x')))).toBe(false);
  });

  it('refuses digests that are not sha256 before they become paths', () => {
    expect(() => store.blobs.path('sha256:../../etc/passwd')).toThrow(DevenvError);
    expect(() => store.blobs.has('sha512:abc')).toThrow(/unsupported or malformed digest/);
  });

  it('reports a missing blob as STORE_CORRUPT', () => {
    expect(() => store.blobs.readBytes(sha256('nothing'))).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
  });
});
