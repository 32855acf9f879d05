import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { mappedLayerKey, openImageStore, type ImageStore, type TreeIdMappings } from '../../../../src/image/store/image-store.js';
import { layerLockPath, mappedLayerLockPath, tryLockFile } from '../../../../src/image/store/store-locks.js';
import { buildImage, sha256, tempRoot, type TestImage } from '../../services/image/image-fixtures.js';

const keepId: TreeIdMappings = {
  uidMappings: [
    { containerID: 0, hostID: 100000, size: 1000 },
    { containerID: 1000, hostID: 1000, size: 1 },
    { containerID: 1001, hostID: 101000, size: 64536 },
  ],
  gidMappings: [
    { containerID: 0, hostID: 100000, size: 1000 },
    { containerID: 1000, hostID: 1000, size: 1 },
    { containerID: 1001, hostID: 101000, size: 64536 },
  ],
};
const other: TreeIdMappings = { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] };

let root: string;
let cleanup: () => void;
let store: ImageStore;
/** What the store's remover was asked to remove, with the mapping it was given. */
let removed: Array<{ dir: string; mappings: TreeIdMappings | undefined }>;

function open(): ImageStore {
  return openImageStore(root, {
    removeTree: (dir, mappings) => {
      removed.push({ dir, mappings });
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

beforeEach(() => {
  ({ root, cleanup } = tempRoot());
  removed = [];
  store = open();
});
afterEach(() => cleanup());

/** Store an image's blobs, index it (when named) and unpack its layers into the default store and `mappings`' area. */
async function storeImage(image: TestImage, reference: string | undefined, mappings: TreeIdMappings[]): Promise<string[]> {
  for (const bytes of image.blobs.values()) store.blobs.put(bytes);
  store.blobs.put(image.manifest);
  const content = store.readImage(image.manifestDescriptor.digest);
  for (const layer of content.layers) {
    const input = { ...layer, blobDigest: layer.descriptor.digest, unpack: async (dir: string) => writeFileSync(join(dir, 'marker'), layer.chainId) };
    await store.layers.ensure(input);
    for (const m of mappings) await store.mapped.forMapping(m).layers.ensure(input);
  }
  if (reference) {
    await store.index.set(reference, { manifestDigest: image.manifestDescriptor.digest, configDigest: image.configDescriptor.digest, created: 'now' });
  }
  return content.layers.map((l) => l.chainId);
}

describe('layer copies under other id mappings', () => {
  it('names an area by a short stable hash of the mapping, and records the mapping in it', () => {
    expect(mappedLayerKey(keepId)).toMatch(/^[0-9a-f]{16}$/);
    expect(mappedLayerKey(JSON.parse(JSON.stringify(keepId)) as TreeIdMappings)).toBe(mappedLayerKey(keepId));
    expect(mappedLayerKey(other)).not.toBe(mappedLayerKey(keepId));
    // extra properties do not change the key
    const noisy = { uidMappings: keepId.uidMappings.map((m) => ({ ...m, note: 'x' })), gidMappings: keepId.gidMappings };
    expect(mappedLayerKey(noisy)).toBe(mappedLayerKey(keepId));

    const area = store.mapped.forMapping(keepId);
    expect(area.dir).toBe(join(root, 'images', 'layers-mapped', mappedLayerKey(keepId)));
    expect(JSON.parse(readFileSync(join(area.dir, 'mapping.json'), 'utf8'))).toEqual(keepId);
    expect(store.mapped.list().map((a) => [a.key, a.idMappings])).toEqual([[area.key, keepId]]);
  });

  it('unpacks a layer into the area, atomically and under a lock of its own; the default store is untouched', async () => {
    const area = store.mapped.forMapping(keepId);
    const chainId = sha256('layer');
    const hex = chainId.slice(7);
    // the default layer's lock does not block the mapped copy
    const defaultLock = tryLockFile(layerLockPath(store.paths, hex));
    let sawLock = false;
    const result = await area.layers.ensure({
      chainId,
      diffId: chainId,
      blobDigest: sha256('blob'),
      unpack: async (dir) => {
        expect(dir).toMatch(new RegExp(`/layers-mapped/${area.key}/${hex}\\.tmp-\\d+-\\d+/diff$`));
        sawLock = tryLockFile(mappedLayerLockPath(store.paths, area.key, hex)) === undefined;
        writeFileSync(join(dir, 'f'), 'x');
      },
    });
    defaultLock?.release();
    expect(sawLock).toBe(true);
    expect(result.created).toBe(true);
    expect(area.layers.diffDir(chainId)).toBe(join(area.dir, hex, 'diff'));
    expect(readFileSync(join(area.layers.diffDir(chainId), 'f'), 'utf8')).toBe('x');
    expect(area.layers.list()).toEqual([chainId]);
    expect(store.layers.has(chainId)).toBe(false);
    expect(readdirSync(area.dir).sort()).toEqual([hex, 'mapping.json']);
  });

  it('repair removes interrupted unpacks and removals in the areas, with the area mapping, unless in use', () => {
    const area = store.mapped.forMapping(keepId);
    const tmp = join(area.dir, `${sha256('a').slice(7)}.tmp-4242-1`);
    const rm = join(area.dir, `${sha256('b').slice(7)}.rm-4242-2`);
    const busy = join(area.dir, `${sha256('c').slice(7)}.tmp-${process.pid}-3`);
    for (const d of [tmp, rm, busy]) mkdirSync(join(d, 'diff', 'etc'), { recursive: true });
    const lock = tryLockFile(mappedLayerLockPath(store.paths, area.key, sha256('c').slice(7)));
    try {
      const reopened = open();
      expect(reopened.repaired.removedLayerDirs.sort()).toEqual([tmp, rm].sort());
      expect(removed.map((r) => [r.dir, r.mappings])).toEqual(
        expect.arrayContaining([
          [tmp, keepId],
          [rm, keepId],
        ]),
      );
      expect(existsSync(busy)).toBe(true);
    } finally {
      lock?.release();
    }
    expect(open().repaired.removedLayerDirs).toEqual([busy]);
    expect(readdirSync(area.dir)).toEqual(['mapping.json']);
  });

  it('GC removes the copies of removed layers (with their mapping) and keeps those of kept layers', async () => {
    const a = await buildImage([{ 'base/f': 'base' }, { 'a/f': 'a' }]);
    const b = await buildImage([{ 'base/f': 'base' }, { 'b/f': 'b' }], { created: '2025-01-01T00:00:00Z' });
    const aChains = await storeImage(a, 'docker.io/library/a:1', [keepId]);
    const bChains = await storeImage(b, undefined, [keepId, other]);
    const keepKey = mappedLayerKey(keepId);
    const otherKey = mappedLayerKey(other);

    const report = store.collectGarbage();
    expect(report.layersRemoved).toEqual([bChains[1]]);
    // the shared bottom layer stays, in every mapping
    expect(report.mappedLayersRemoved.sort()).toEqual([`${keepKey}/${bChains[1]!.slice(7)}`, `${otherKey}/${bChains[1]!.slice(7)}`].sort());
    expect(store.mapped.forMapping(keepId).layers.list().sort()).toEqual([...aChains].sort());
    expect(store.mapped.forMapping(other).layers.list()).toEqual([aChains[0]]);
    // once its last layer goes, an area goes too, mapping.json and all
    await store.index.remove('docker.io/library/a:1');
    expect(store.collectGarbage().mappedLayersRemoved).toHaveLength(3);
    expect(readdirSync(store.paths.mappedLayers)).toEqual([]);
    const mappedRemovals = removed.filter((r) => r.dir.includes('/layers-mapped/'));
    expect(mappedRemovals.length).toBe(5);
    for (const r of mappedRemovals) expect(r.mappings).toEqual(r.dir.includes(otherKey) ? other : keepId);
    // the default layers' removal gets no mapping (the store's own)
    expect(removed.filter((r) => !r.dir.includes('/layers-mapped/')).every((r) => r.mappings === undefined)).toBe(true);
  });

  it('pruning mapped copies keeps only those containers use', async () => {
    const a = await buildImage([{ 'base/f': 'base' }, { 'a/f': 'a' }]);
    const chains = await storeImage(a, 'docker.io/library/a:1', [keepId]);
    const key = mappedLayerKey(keepId);
    const report = store.collectGarbage({ mappedLayers: [`${key}/${chains[0]!.slice(7)}`] }, { pruneMappedLayers: true });
    expect(report.layersRemoved).toEqual([]);
    expect(report.mappedLayersRemoved).toEqual([`${key}/${chains[1]!.slice(7)}`]);
    expect(store.mapped.forMapping(keepId).layers.list()).toEqual([chains[0]]);
    const all = store.collectGarbage({}, { pruneMappedLayers: true });
    expect(all.mappedLayersRemoved).toEqual([`${key}/${chains[0]!.slice(7)}`]);
    expect(all.bytesFreed).toBeGreaterThan(0);
    expect(readdirSync(store.paths.mappedLayers)).toEqual([]);
    expect(store.layers.list().sort()).toEqual([...chains].sort());
  });
});
