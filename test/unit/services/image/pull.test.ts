import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { openImageStore } from '../../../../src/image/store/image-store.js';
import { pullImage, type PullProgressEvent } from '../../../../src/services/image/pull.js';
import { buildImage, createFakeUnpack, MemoryRegistry, sha256, tempRoot, testContext } from './image-fixtures.js';

let root: string;
let cleanup: () => void;
let registry: MemoryRegistry;

beforeEach(() => {
  ({ root, cleanup } = tempRoot());
  registry = new MemoryRegistry();
});
afterEach(() => cleanup());

describe('pullImage', () => {
  it('pulls manifest, config and layers, unpacks them in order and records the reference', async () => {
    const image = await buildImage([{ 'etc/os-release': 'ID=test\n' }, { 'usr/bin/tool': '#!/bin/sh\n' }, { 'etc/motd': 'hi\n' }], { gzip: true });
    registry.add('library/test:1', image);
    const fake = createFakeUnpack();
    const events: PullProgressEvent[] = [];
    const result = await pullImage(testContext(root, registry, fake.unpack), 'test:1', { onProgress: (e) => events.push(e) });

    expect(result).toMatchObject({
      reference: 'docker.io/library/test:1',
      manifestDigest: image.manifestDescriptor.digest,
      configDigest: image.configDescriptor.digest,
      upToDate: false,
    });
    expect(result.layers.map((l) => l.status)).toEqual(['pulled', 'pulled', 'pulled']);
    expect(fake.calls.map((c) => c.blobPath.split('/').pop())).toEqual(image.layers.map((l) => l.descriptor.digest.slice(7)));
    expect(fake.calls.every((c) => c.rootless === false && c.idMappings === undefined)).toBe(true);

    const store = openImageStore(root);
    const entry = store.index.get('docker.io/library/test:1');
    expect(entry).toMatchObject({ manifestDigest: image.manifestDescriptor.digest, configDigest: image.configDescriptor.digest });
    expect(entry?.chainIds).toHaveLength(3);
    const content = store.readImage(image.manifestDescriptor.digest);
    expect(readFileSync(join(store.layers.diffDir(content.layers[0]!.chainId), 'etc/os-release'), 'utf8')).toBe('ID=test\n');
    expect(readdirSync(store.paths.ingest)).toEqual([]);

    // events: resolved first; every layer goes waiting → … → done, ending with all bytes
    expect(events[0]).toMatchObject({ type: 'resolved', reference: 'docker.io/library/test:1', layers: 3 });
    for (const layer of image.layers) {
      const mine = events.filter((e) => e.type === 'layer' && e.digest === layer.descriptor.digest).map((e) => (e.type === 'layer' ? e.status : ''));
      expect(mine[0]).toBe('waiting');
      expect(mine).toContain('verifying');
      expect(mine.slice(-2)).toEqual(['unpacking', 'done']);
    }
  });

  it('is up to date the second time: nothing fetched or unpacked', async () => {
    const image = await buildImage([{ a: '1' }, { b: '2' }]);
    registry.add('library/test:1', image);
    const fake = createFakeUnpack();
    const ctx = testContext(root, registry, fake.unpack);
    await pullImage(ctx, 'test:1');
    const fetches = registry.blobFetches.length;
    const events: PullProgressEvent[] = [];
    const again = await pullImage(ctx, 'docker.io/library/test:1', { onProgress: (e) => events.push(e) });
    expect(again.upToDate).toBe(true);
    expect(again.layers.map((l) => l.status)).toEqual(['exists', 'exists']);
    expect(registry.blobFetches.length).toBe(fetches);
    expect(fake.calls).toHaveLength(2);
    expect(events.filter((e) => e.type === 'layer').map((e) => (e.type === 'layer' ? e.status : ''))).toEqual(['exists', 'exists']);
  });

  it('shares layers between images by chain id', async () => {
    const a = await buildImage([{ base: 'x' }, { a: '1' }]);
    const b = await buildImage([{ base: 'x' }, { b: '2' }]);
    registry.add('library/a:1', a);
    registry.add('library/b:1', b);
    const fake = createFakeUnpack();
    const ctx = testContext(root, registry, fake.unpack);
    await pullImage(ctx, 'a:1');
    const result = await pullImage(ctx, 'b:1');
    expect(result.layers.map((l) => l.status)).toEqual(['exists', 'pulled']);
    expect(fake.calls).toHaveLength(3);
  });

  it('two pulls of one image at once download and unpack each part once', async () => {
    const image = await buildImage([{ a: 'x'.repeat(5000) }, { b: 'y'.repeat(5000) }, { c: 'z' }], { gzip: true });
    registry.add('library/test:1', image);
    registry.beforeBlob = () => sleep(20);
    const fake = createFakeUnpack();
    const slowUnpack = async (o: Parameters<typeof fake.unpack>[0]): Promise<void> => {
      await sleep(20);
      await fake.unpack(o);
    };
    const results = await Promise.all([
      pullImage(testContext(root, registry, slowUnpack), 'test:1'),
      pullImage(testContext(root, registry, slowUnpack), 'test:1'),
    ]);
    for (const layer of image.layers) expect(registry.fetchesOf(layer.descriptor.digest)).toBe(1);
    expect(registry.fetchesOf(image.configDescriptor.digest)).toBe(1);
    expect(fake.calls).toHaveLength(3);
    expect(results.map((r) => r.manifestDigest)).toEqual([image.manifestDescriptor.digest, image.manifestDescriptor.digest]);
  });

  it('refuses a layer whose content does not match the diff_id the config names; nothing recorded', async () => {
    const honest = await buildImage([{ a: '1' }, { b: '2' }], { gzip: true });
    const liar = await buildImage([{ a: '1' }, { b: '2' }], { gzip: true, diffIds: [honest.layers[0]!.diffId, sha256('something else')] });
    registry.add('library/liar:1', liar);
    const ctx = testContext(root, registry, createFakeUnpack().unpack);
    const error = await pullImage(ctx, 'liar:1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DevenvError);
    expect((error as DevenvError).code).toBe('DIGEST_MISMATCH');
    const store = openImageStore(root);
    expect(store.index.entries()).toEqual([]);
    expect(store.layers.list()).toHaveLength(1); // the honest bottom layer
    expect(readdirSync(store.paths.layers).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('refuses an uncompressed layer whose digest is not its diff_id', async () => {
    const image = await buildImage([{ a: '1' }], { diffIds: [sha256('not the tar')] });
    registry.add('library/x:1', image);
    await expect(pullImage(testContext(root, registry, createFakeUnpack().unpack), 'x:1')).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('stops on a failed download; a later pull resumes the partial blobs', async () => {
    const image = await buildImage([{ a: 'a'.repeat(20_000) }, { b: 'b'.repeat(20_000) }]);
    registry.add('library/test:1', image);
    const bad = image.layers[1]!.descriptor.digest;
    registry.beforeBlob = async (digest) => {
      if (digest === bad) throw new DevenvError('REGISTRY_UNAVAILABLE', 'registry down');
    };
    const ctx = testContext(root, registry, createFakeUnpack().unpack);
    await expect(pullImage(ctx, 'test:1')).rejects.toThrow('registry down');
    const store = openImageStore(root);
    expect(store.index.entries()).toEqual([]);

    registry.beforeBlob = async () => {};
    const result = await pullImage(ctx, 'test:1');
    expect(result.layers.map((l) => l.status)).toEqual(['pulled', 'pulled']);
    expect(store.index.get('docker.io/library/test:1')).toBeDefined();
  });

  it('resumes a layer whose connection breaks half-way from where it stopped', async () => {
    const image = await buildImage([{ a: 'a'.repeat(20_000) }], { gzip: false });
    registry.add('library/test:1', image);
    const digest = image.layers[0]!.descriptor.digest;
    registry.breakAfter.set(digest, 8192);
    await pullImage(testContext(root, registry, createFakeUnpack().unpack), 'test:1');
    expect(registry.blobFetches.filter((f) => f.digest === digest).map((f) => f.offset)).toEqual([0, 8192]);
  });

  it('refuses a manifest whose bytes do not match the digest the registry names', async () => {
    const image = await buildImage([{ a: '1' }]);
    registry.add('library/test:1', { ...image, manifestDescriptor: { ...image.manifestDescriptor, digest: sha256('other') } });
    await expect(pullImage(testContext(root, registry, createFakeUnpack().unpack), 'test:1')).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('refuses what is not a container image', async () => {
    const image = await buildImage([{ a: '1' }]);
    const manifest = Buffer.from(JSON.stringify({ ...JSON.parse(image.manifest.toString()), config: { ...image.configDescriptor, mediaType: 'application/vnd.cncf.helm.config.v1+json' } }));
    registry.add('library/chart:1', { ...image, manifest, manifestDescriptor: { ...image.manifestDescriptor, digest: sha256(manifest), size: manifest.length } });
    await expect(pullImage(testContext(root, registry, createFakeUnpack().unpack), 'chart:1')).rejects.toThrow(/not a container image/);
    expect(existsSync(join(root, 'images', 'index.json'))).toBe(false);
  });
});
