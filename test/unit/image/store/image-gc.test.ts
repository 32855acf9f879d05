import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openImageStore, type ImageStore } from '../../../../src/image/store/image-store.js';
import { buildImage, sha256, tempRoot, type TestImage } from '../../services/image/image-fixtures.js';

let cleanup: () => void;
let store: ImageStore;

beforeEach(() => {
  const t = tempRoot();
  cleanup = t.cleanup;
  store = openImageStore(t.root);
});
afterEach(() => cleanup());

/** Put an image's blobs in the store and unpack its layers (the unpack just writes a marker file). */
async function storeImage(image: TestImage, reference?: string): Promise<string[]> {
  for (const bytes of image.blobs.values()) store.blobs.put(bytes);
  store.blobs.put(image.manifest);
  const content = store.readImage(image.manifestDescriptor.digest);
  for (const layer of content.layers) {
    await store.layers.ensure({ ...layer, blobDigest: layer.descriptor.digest, unpack: async (dir) => writeFileSync(join(dir, 'marker'), layer.chainId) });
  }
  if (reference) {
    await store.index.set(reference, { manifestDigest: image.manifestDescriptor.digest, configDigest: image.configDescriptor.digest, created: 'now' });
  }
  return content.layers.map((l) => l.chainId);
}

describe('image GC', () => {
  it('keeps what images in the index use (shared layers too) and removes the rest', async () => {
    const a = await buildImage([{ 'base/f': 'base' }, { 'a/f': 'a' }]);
    const b = await buildImage([{ 'base/f': 'base' }, { 'b/f': 'b' }], { created: '2025-01-01T00:00:00Z' });
    const aChains = await storeImage(a, 'docker.io/library/a:1');
    const bChains = await storeImage(b);
    expect(aChains[0]).toBe(bChains[0]); // same bottom layer, one directory

    const report = store.collectGarbage();
    expect(report.blobsRemoved.sort()).toEqual([b.manifestDescriptor.digest, b.configDescriptor.digest, b.layers[1]?.descriptor.digest].sort());
    expect(report.layersRemoved).toEqual([bChains[1]]);
    expect(report.bytesFreed).toBeGreaterThan(0);
    for (const digest of [a.manifestDescriptor.digest, a.configDescriptor.digest, ...a.layers.map((l) => l.descriptor.digest)]) {
      expect(store.blobs.has(digest)).toBe(true);
    }
    expect(store.layers.list().sort()).toEqual([...aChains].sort());
  });

  it('keeps images that containers use, even when no reference names them', async () => {
    const b = await buildImage([{ 'b/f': 'b' }]);
    const chains = await storeImage(b);
    const report = store.collectGarbage({ manifestDigests: [b.manifestDescriptor.digest] });
    expect(report.blobsRemoved).toEqual([]);
    expect(report.layersRemoved).toEqual([]);
    expect(store.layers.list()).toEqual(chains);
  });

  it('keeps layers containers use by chain id, when their image is gone entirely', async () => {
    const b = await buildImage([{ 'b/f': 'b' }, { 'c/f': 'c' }]);
    const chains = await storeImage(b);
    const report = store.collectGarbage({ chainIds: chains });
    expect(report.layersRemoved).toEqual([]);
    expect(report.blobsRemoved).toHaveLength(4); // manifest, config, two layer blobs
  });

  it('removes partial downloads only when asked (prune), and idle lock files', () => {
    writeFileSync(join(store.paths.ingest, `${sha256('p').slice(7)}.partial`), 'part');
    writeFileSync(join(store.paths.locks, sha256('p').slice(7)), '');
    expect(store.collectGarbage().ingestRemoved).toEqual([]);
    expect(readdirSync(store.paths.ingest)).toHaveLength(1);
    const report = store.collectGarbage({}, { removeIngest: true });
    expect(report.ingestRemoved).toHaveLength(1);
    expect(readdirSync(store.paths.ingest)).toEqual([]);
    expect(readdirSync(store.paths.locks)).toEqual([]);
  });
});
