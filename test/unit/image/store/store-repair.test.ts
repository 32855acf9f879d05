import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openImageStore } from '../../../../src/image/store/image-store.js';
import { layerLockPath, tryLockFile } from '../../../../src/image/store/store-locks.js';
import { sha256, tempRoot } from '../../services/image/image-fixtures.js';

let root: string;
let cleanup: () => void;

beforeEach(() => {
  ({ root, cleanup } = tempRoot());
});
afterEach(() => cleanup());

const hex = (s: string): string => sha256(s).slice(7);
const twoDaysAgo = (path: string): void => {
  const t = new Date(Date.now() - 2 * 86_400_000);
  utimesSync(path, t, t);
};

describe('repair at open, after a kill -9', () => {
  it('removes interrupted unpacks and removals, abandoned downloads; keeps recent partials for resume', () => {
    const first = openImageStore(root);
    const { layers, ingest } = first.paths;
    // an unpack killed half-way, and a removal killed half-way
    mkdirSync(join(layers, `${hex('a')}.tmp-4242-1`, 'diff', 'usr'), { recursive: true });
    writeFileSync(join(layers, `${hex('a')}.tmp-4242-1`, 'diff', 'usr', 'f'), 'x');
    mkdirSync(join(layers, `${hex('b')}.rm-4242-2`, 'diff'), { recursive: true });
    // downloads: a recent partial (kept), an old one (removed), one of a blob already stored (removed)
    writeFileSync(join(ingest, `${hex('recent')}.partial`), 'rec');
    writeFileSync(join(ingest, `${hex('old')}.partial`), 'old');
    twoDaysAgo(join(ingest, `${hex('old')}.partial`));
    const stored = first.blobs.put(Buffer.from('stored'));
    writeFileSync(join(ingest, `${stored.slice(7)}.partial`), 'sto');
    // a put() killed before its rename
    writeFileSync(join(ingest, `${hex('p')}.tmp-4242-3`), 'p');
    twoDaysAgo(join(ingest, `${hex('p')}.tmp-4242-3`));

    const store = openImageStore(root);
    expect(store.repaired.removedLayerDirs.map((p) => p.split('/').pop()).sort()).toEqual([`${hex('a')}.tmp-4242-1`, `${hex('b')}.rm-4242-2`].sort());
    expect(readdirSync(layers)).toEqual([]);
    expect(readdirSync(ingest)).toEqual([`${hex('recent')}.partial`]);
    expect(store.repaired.removedIngest).toHaveLength(3);
    expect(store.blobs.has(stored)).toBe(true);
  });

  it('leaves alone an unpack that is still running (its layer lock is held)', () => {
    const first = openImageStore(root);
    const tmp = join(first.paths.layers, `${hex('busy')}.tmp-${process.pid}-9`);
    mkdirSync(join(tmp, 'diff'), { recursive: true });
    const lock = tryLockFile(layerLockPath(first.paths, hex('busy')));
    expect(lock).toBeDefined();
    try {
      const store = openImageStore(root);
      expect(store.repaired.removedLayerDirs).toEqual([]);
      expect(existsSync(tmp)).toBe(true);
    } finally {
      lock?.release();
    }
    expect(openImageStore(root).repaired.removedLayerDirs).toEqual([tmp]);
  });

  it('drops index entries whose manifest or config blob is gone, keeps the others', async () => {
    const store = openImageStore(root);
    const manifest = store.blobs.put(Buffer.from('{"m":1}'));
    const config = store.blobs.put(Buffer.from('{"c":1}'));
    await store.index.set('docker.io/library/good:1', { manifestDigest: manifest, configDigest: config, created: 'now' });
    await store.index.set('docker.io/library/nomanifest:1', { manifestDigest: sha256('gone'), configDigest: config, created: 'now' });
    await store.index.set('docker.io/library/noconfig:1', { manifestDigest: manifest, configDigest: sha256('gone'), created: 'now' });
    const reopened = openImageStore(root);
    expect(reopened.repaired.droppedImages.map((d) => d.reference).sort()).toEqual(['docker.io/library/noconfig:1', 'docker.io/library/nomanifest:1']);
    expect(reopened.index.entries().map(([r]) => r)).toEqual(['docker.io/library/good:1']);
  });

  it('moves an unreadable index.json aside', () => {
    const store = openImageStore(root);
    writeFileSync(store.paths.index, '{"images": {');
    expect(() => store.index.read()).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
    const reopened = openImageStore(root);
    expect(reopened.repaired.indexMovedAside).toMatch(/index\.json\.corrupt-/);
    expect(readFileSync(reopened.repaired.indexMovedAside as string, 'utf8')).toBe('{"images": {');
    expect(reopened.index.entries()).toEqual([]);
  });

  it('does nothing on a clean store', () => {
    openImageStore(root);
    expect(openImageStore(root).repaired).toEqual({ removedLayerDirs: [], removedIngest: [], droppedImages: [] });
  });
});
