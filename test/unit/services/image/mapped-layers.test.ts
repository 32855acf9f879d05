import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { mappedLayerKey, openImageStore } from '../../../../src/image/store/image-store.js';
import { computeIdMappings } from '../../../../src/runtime/idmap.js';
import type { ImageServiceContext, IdMappings } from '../../../../src/services/image/image-context.js';
import { readImageUsage } from '../../../../src/services/image/images-in-use.js';
import { isSameIdMapping, layerMappingFor, lowerdirsForMapping } from '../../../../src/services/image/mapped-layers.js';
import { pruneImages } from '../../../../src/services/image/prune.js';
import { pullImage } from '../../../../src/services/image/pull.js';
import { removeImages } from '../../../../src/services/image/remove.js';
import { resolveImageForContainer, type ResolvedContainerImage } from '../../../../src/services/image/resolve-image.js';
import { buildImage, createFakeUnpack, MemoryRegistry, tempRoot, testContext, type TestImage } from './image-fixtures.js';

const subs = [{ owner: 'alice', start: 100000, count: 65536 }];
const input = { uid: 1000, gid: 1000, rootless: true, user: 'alice', subuids: subs, subgids: subs };
const defaultMaps = computeIdMappings({ ...input, mode: 'default' });
const keepIdMaps = computeIdMappings({ ...input, mode: 'keep-id' });
const asStore = (m: { uid: IdMappings['uidMappings']; gid: IdMappings['gidMappings'] }): IdMappings => ({ uidMappings: m.uid, gidMappings: m.gid });

let root: string;
let cleanup: () => void;
let ctx: ImageServiceContext;
let fake: ReturnType<typeof createFakeUnpack>;
let removed: Array<{ dir: string; mappings: IdMappings | undefined }>;
let app: TestImage;
let resolved: ResolvedContainerImage;

beforeEach(async () => {
  ({ root, cleanup } = tempRoot());
  const registry = new MemoryRegistry();
  app = await buildImage([{ base: 'b' }, { app: 'a' }]);
  registry.add('library/app:1', app);
  fake = createFakeUnpack();
  removed = [];
  const base = testContext(root, registry, fake.unpack);
  ctx = {
    ...base,
    images: {
      ...base.images,
      rootless: true,
      idMappings: asStore(defaultMaps),
      removeTree: (dir, mappings) => {
        removed.push({ dir, mappings });
        rmSync(dir, { recursive: true, force: true });
      },
    },
  };
  resolved = await resolveImageForContainer(ctx, 'app:1', { pull: 'missing' });
  fake.calls.length = 0;
});
afterEach(() => cleanup());

/** A container record whose spec names these lowerdirs, as `container create` writes it. */
function writeContainer(name: string, image: ResolvedContainerImage, lowerdirs: string[]): void {
  const id = createHash('sha256').update(name).digest('hex');
  const dir = join(root, 'containers', id);
  mkdirSync(dir, { recursive: true });
  const record = {
    id,
    name,
    created: new Date().toISOString(),
    rootfs: image.reference,
    command: ['sh'],
    image: { reference: image.reference, manifestDigest: image.manifestDigest, configDigest: image.configDigest, chainIds: image.chainIds },
    spec: { rootfs: { driver: 'overlay', lowerdirs } },
  };
  writeFileSync(join(dir, 'container.json'), JSON.stringify(record));
}

describe('which layers a mapping needs', () => {
  it('compares mappings range by range', () => {
    expect(isSameIdMapping(asStore(defaultMaps), asStore(computeIdMappings({ ...input, mode: 'default' })))).toBe(true);
    expect(isSameIdMapping(asStore(defaultMaps), asStore(keepIdMaps))).toBe(false);
    expect(isSameIdMapping(asStore(defaultMaps), { uidMappings: defaultMaps.uid, gidMappings: keepIdMaps.gid })).toBe(false);
  });

  it('needs no copy as root, without a user namespace, or under the store mapping', () => {
    expect(layerMappingFor({ ...ctx, images: { ...ctx.images, rootless: false } }, keepIdMaps)).toBeUndefined();
    expect(layerMappingFor(ctx, null)).toBeUndefined();
    expect(layerMappingFor(ctx, defaultMaps)).toBeUndefined();
    expect(layerMappingFor(ctx, keepIdMaps)).toEqual(asStore(keepIdMaps));
  });
});

describe('lowerdirsForMapping', () => {
  it('returns the store layers when they are right for the mapping, without unpacking', async () => {
    expect(await lowerdirsForMapping(ctx, resolved, defaultMaps)).toEqual(resolved.lowerdirs);
    expect(await lowerdirsForMapping({ ...ctx, images: { ...ctx.images, rootless: false } }, resolved, keepIdMaps)).toEqual(resolved.lowerdirs);
    expect(fake.calls).toEqual([]);
    expect(existsSync(join(root, 'images', 'layers-mapped'))).toBe(false);
  });

  it('unpacks each layer once more under another mapping, from its blob, and reuses the copies', async () => {
    const key = mappedLayerKey(asStore(keepIdMaps));
    const dirs = await lowerdirsForMapping(ctx, resolved, keepIdMaps);
    const hexes = resolved.chainIds.map((c) => c.slice(7));
    expect(dirs).toEqual([...hexes].reverse().map((h) => join(root, 'images', 'layers-mapped', key, h, 'diff')));
    expect(fake.calls).toHaveLength(2);
    for (const call of fake.calls) {
      expect(call).toMatchObject({ rootless: true, idMappings: asStore(keepIdMaps) });
      expect(call.expectDiffId).toMatch(/^sha256:/);
      expect(call.blobPath).toMatch(/\/images\/blobs\/sha256\/[0-9a-f]{64}$/);
    }
    expect(readFileSync(join(dirs[0]!, 'app'), 'utf8')).toBe('a');
    expect(readFileSync(join(dirs[1]!, 'base'), 'utf8')).toBe('b');
    // the default layers are untouched
    expect(resolved.lowerdirs.every((d) => d.includes('/images/layers/'))).toBe(true);

    expect(await lowerdirsForMapping(ctx, resolved, keepIdMaps)).toEqual(dirs);
    expect(fake.calls).toHaveLength(2);
    // works from the manifest alone too (chain ids read from the config)
    expect(await lowerdirsForMapping(ctx, { manifestDigest: resolved.manifestDigest, lowerdirs: resolved.lowerdirs }, keepIdMaps)).toEqual(dirs);
  });

  it('a failed unpack leaves no copy behind', async () => {
    const failing: ImageServiceContext = {
      ...ctx,
      images: {
        ...ctx.images,
        unpack: async (o) => {
          writeFileSync(join(o.destDir, 'half'), 'x');
          throw new Error('disk full');
        },
      },
    };
    await expect(lowerdirsForMapping(failing, resolved, keepIdMaps)).rejects.toThrow('disk full');
    const area = join(root, 'images', 'layers-mapped', mappedLayerKey(asStore(keepIdMaps)));
    expect(readdirSync(area)).toEqual(['mapping.json']);
  });

  it('fails with STORE_CORRUPT when a layer blob is gone', async () => {
    const store = openImageStore(root);
    store.blobs.remove(app.layers[1]!.descriptor.digest);
    await expect(lowerdirsForMapping(ctx, resolved, keepIdMaps)).rejects.toMatchObject({ code: 'STORE_CORRUPT', hint: expect.stringContaining('pull') });
  });
});

describe('image rm and prune with mapped copies', () => {
  it('container records name the copies they use', async () => {
    const dirs = await lowerdirsForMapping(ctx, resolved, keepIdMaps);
    writeContainer('c1', resolved, dirs);
    const key = mappedLayerKey(asStore(keepIdMaps));
    expect([...(readImageUsage(root).mappedLayers ?? [])].sort()).toEqual(resolved.chainIds.map((c) => `${key}/${c.slice(7)}`).sort());
  });

  it('prune removes the copies no container uses, with their mapping, and keeps used ones', async () => {
    const dirs = await lowerdirsForMapping(ctx, resolved, keepIdMaps);
    const key = mappedLayerKey(asStore(keepIdMaps));
    writeContainer('c1', resolved, dirs);
    const kept = await pruneImages(ctx, { all: false });
    expect(kept.mappedLayersRemoved).toEqual([]);
    expect(dirs.every((d) => existsSync(d))).toBe(true);

    rmSync(join(root, 'containers'), { recursive: true });
    const pruned = await pruneImages(ctx, { all: false });
    expect(pruned.mappedLayersRemoved.sort()).toEqual(resolved.chainIds.map((c) => `${key}/${c.slice(7)}`).sort());
    expect(pruned.layersRemoved).toEqual([]); // the image is still there
    expect(pruned.bytesFreed).toBeGreaterThan(0);
    expect(readdirSync(join(root, 'images', 'layers-mapped'))).toEqual([]);
    const mappedRemovals = removed.filter((r) => r.dir.includes('/layers-mapped/'));
    expect(mappedRemovals.length).toBeGreaterThan(0);
    for (const r of mappedRemovals) expect(r.mappings).toEqual(asStore(keepIdMaps));
  });

  it('image rm takes the copies of the layers it removes', async () => {
    await lowerdirsForMapping(ctx, resolved, keepIdMaps);
    const result = await removeImages(ctx, ['app:1'], { force: false });
    expect(result.deleted).toEqual(expect.arrayContaining(resolved.chainIds));
    expect(readdirSync(join(root, 'images', 'layers-mapped'))).toEqual([]);
    expect(readdirSync(join(root, 'images', 'layers'))).toEqual([]);
  });

  it('image rm keeps the copies of an image that stays', async () => {
    const dirs = await lowerdirsForMapping(ctx, resolved, keepIdMaps);
    await pullImage(ctx, 'app:1');
    const { tagImage } = await import('../../../../src/services/image/tag.js');
    await tagImage(ctx, 'app:1', 'app:2');
    await removeImages(ctx, ['app:1'], { force: false });
    expect(dirs.every((d) => existsSync(d))).toBe(true);
  });
});
