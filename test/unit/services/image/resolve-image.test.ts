import { rmSync } from 'node:fs';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openImageStore } from '../../../../src/image/store/image-store.js';
import { pullImage } from '../../../../src/services/image/pull.js';
import { resolveImageForContainer, withResolvedImage } from '../../../../src/services/image/resolve-image.js';
import { buildImage, createFakeUnpack, MemoryRegistry, tempRoot, testContext, type TestImage } from './image-fixtures.js';

let root: string;
let cleanup: () => void;
let registry: MemoryRegistry;
let image: TestImage;

beforeEach(async () => {
  ({ root, cleanup } = tempRoot());
  registry = new MemoryRegistry();
  image = await buildImage([{ bottom: '1' }, { middle: '2' }, { top: '3' }], { gzip: true });
  registry.add('library/app:1', image);
});
afterEach(() => cleanup());

describe('resolveImageForContainer', () => {
  it('pulls a missing image and returns its config and lowerdirs, top-most first', async () => {
    const fake = createFakeUnpack();
    const resolved = await resolveImageForContainer(testContext(root, registry, fake.unpack), 'app:1', { pull: 'missing' });
    const store = openImageStore(root);
    const layers = store.readImage(image.manifestDescriptor.digest).layers;
    expect(resolved).toMatchObject({
      reference: 'docker.io/library/app:1',
      manifestDigest: image.manifestDescriptor.digest,
      configDigest: image.configDescriptor.digest,
      config: { config: { Cmd: ['/bin/sh'] } },
      chainIds: layers.map((l) => l.chainId),
    });
    expect(resolved.lowerdirs).toEqual(layers.map((l) => store.layers.diffDir(l.chainId)).reverse());
  });

  it('uses the stored image without the registry when it is there (pull missing or never)', async () => {
    const ctx = testContext(root, registry, createFakeUnpack().unpack);
    await pullImage(ctx, 'app:1');
    const fetches = registry.blobFetches.length;
    for (const pull of ['missing', 'never'] as const) {
      const resolved = await resolveImageForContainer(ctx, 'app:1', { pull });
      expect(resolved.manifestDigest).toBe(image.manifestDescriptor.digest);
    }
    // by image id too
    const byId = await resolveImageForContainer(ctx, image.configDescriptor.digest.slice(7, 19), { pull: 'never' });
    expect(byId.reference).toBe('docker.io/library/app:1');
    expect(registry.blobFetches.length).toBe(fetches);
  });

  it('fails with IMAGE_NOT_FOUND under pull never', async () => {
    await expect(resolveImageForContainer(testContext(root, registry, createFakeUnpack().unpack), 'app:1', { pull: 'never' })).rejects.toMatchObject({
      code: 'IMAGE_NOT_FOUND',
      hint: expect.stringContaining('devenv image pull app:1'),
    });
  });

  it('pull always asks the registry again, and picks up a new image for the tag', async () => {
    const ctx = testContext(root, registry, createFakeUnpack().unpack);
    await resolveImageForContainer(ctx, 'app:1', { pull: 'always' });
    const newer = await buildImage([{ bottom: '1' }, { changed: 'yes' }], { gzip: true });
    registry.add('library/app:1', newer);
    const events: string[] = [];
    const resolved = await resolveImageForContainer(ctx, 'app:1', { pull: 'always', onProgress: (e) => events.push(e.type) });
    expect(resolved.manifestDigest).toBe(newer.manifestDescriptor.digest);
    expect(events[0]).toBe('resolved');
  });

  it('unpacks again a layer directory that went missing, from its stored blob', async () => {
    const fake = createFakeUnpack();
    const ctx = testContext(root, registry, fake.unpack);
    await pullImage(ctx, 'app:1');
    const store = openImageStore(root);
    const middle = store.readImage(image.manifestDescriptor.digest).layers[1]!;
    rmSync(store.layers.dir(middle.chainId), { recursive: true });
    await resolveImageForContainer(ctx, 'app:1', { pull: 'never' });
    expect(fake.calls).toHaveLength(4);
    expect(store.layers.has(middle.chainId)).toBe(true);
  });

  it('withResolvedImage holds the store lock shared while the caller records its container', async () => {
    const ctx = testContext(root, registry, createFakeUnpack().unpack);
    const store = openImageStore(root);
    await withResolvedImage(ctx, 'app:1', { pull: 'missing' }, async () => {
      await expect(store.lockExclusive({ timeoutMs: 50 })).rejects.toMatchObject({ code: 'STORE_LOCKED' });
      (await store.lockShared({ timeoutMs: 50 })).release();
    });
    (await store.lockExclusive({ timeoutMs: 50 })).release();
  });
});
