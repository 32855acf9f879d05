import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openImageStore } from '../../../../src/image/store/image-store.js';
import { inspectImage } from '../../../../src/services/image/inspect.js';
import { imagesInUse } from '../../../../src/services/image/images-in-use.js';
import { listImages } from '../../../../src/services/image/list.js';
import { pruneImages } from '../../../../src/services/image/prune.js';
import { pullImage } from '../../../../src/services/image/pull.js';
import { removeImages } from '../../../../src/services/image/remove.js';
import { tagImage } from '../../../../src/services/image/tag.js';
import type { ImageServiceContext } from '../../../../src/services/image/image-context.js';
import { buildImage, createFakeUnpack, MemoryRegistry, tempRoot, testContext, writeContainerUsing, type TestImage } from './image-fixtures.js';

let root: string;
let cleanup: () => void;
let ctx: ImageServiceContext;
let app: TestImage;
let tool: TestImage;

beforeEach(async () => {
  ({ root, cleanup } = tempRoot());
  const registry = new MemoryRegistry();
  app = await buildImage([{ base: 'b' }, { app: 'a'.repeat(100) }], { created: '2024-05-01T00:00:00Z' });
  tool = await buildImage([{ base: 'b' }, { tool: 't' }], { created: '2024-06-01T00:00:00Z' });
  registry.add('library/app:1', app);
  registry.add('library/tool:2', tool);
  ctx = testContext(root, registry, createFakeUnpack().unpack);
  await pullImage(ctx, 'app:1');
  await pullImage(ctx, 'tool:2');
});
afterEach(() => cleanup());

describe('image ls / inspect / tag', () => {
  it('lists references newest image first, with repository, tag, id and unpacked size', async () => {
    const rows = listImages(ctx);
    expect(rows.map((r) => [r.repository, r.tag, r.id])).toEqual([
      ['tool', '2', tool.configDescriptor.digest],
      ['app', '1', app.configDescriptor.digest],
    ]);
    expect(rows[1]).toMatchObject({ created: '2024-05-01T00:00:00Z', size: 101, digest: null, manifestDigest: app.manifestDescriptor.digest });
  });

  it('tags an image under another name; inspect shows both references and the layers', async () => {
    const result = await tagImage(ctx, 'app:1', 'ghcr.io/me/app:latest');
    expect(result).toEqual({ source: 'docker.io/library/app:1', target: 'ghcr.io/me/app:latest', manifestDigest: app.manifestDescriptor.digest });
    const info = inspectImage(ctx, 'ghcr.io/me/app');
    expect(info.references).toEqual(['docker.io/library/app:1', 'ghcr.io/me/app:latest']);
    expect(info).toMatchObject({ id: app.configDescriptor.digest, architecture: 'amd64', os: 'linux', created: '2024-05-01T00:00:00Z' });
    expect(info.layers.map((l) => l.unpacked)).toEqual([true, true]);
    expect(inspectImage(ctx, `app@${app.manifestDescriptor.digest}`).id).toBe(app.configDescriptor.digest);
  });

  it('refuses to tag with a digest, and reports unknown images', async () => {
    await expect(tagImage(ctx, 'app:1', `x@${app.manifestDescriptor.digest}`)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(tagImage(ctx, 'nope', 'x:1')).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });
    expect(() => inspectImage(ctx, 'nope:1')).toThrow(expect.objectContaining({ code: 'IMAGE_NOT_FOUND' }));
  });
});

describe('image rm', () => {
  it('untags a reference whose image has another name, deleting nothing', async () => {
    await tagImage(ctx, 'app:1', 'app:copy');
    const result = await removeImages(ctx, ['app:1'], { force: false });
    expect(result).toEqual({ untagged: ['docker.io/library/app:1'], deleted: [], bytesFreed: 0 });
  });

  it('deletes the blobs and layers only that image used when its last reference goes', async () => {
    const store = openImageStore(root);
    const appLayers = store.readImage(app.manifestDescriptor.digest).layers;
    const result = await removeImages(ctx, ['app:1'], { force: false });
    expect(result.untagged).toEqual(['docker.io/library/app:1']);
    expect(result.deleted.sort()).toEqual(
      [app.manifestDescriptor.digest, app.configDescriptor.digest, app.layers[1]!.descriptor.digest, appLayers[1]!.chainId].sort(),
    );
    expect(store.layers.has(appLayers[0]!.chainId)).toBe(true); // shared with tool
  });

  it('refuses to remove an image a container uses, unless forced; forced, its content stays', async () => {
    writeContainerUsing(root, 'web', app.manifestDescriptor.digest);
    expect(imagesInUse(root)).toEqual(new Set([app.manifestDescriptor.digest]));
    await expect(removeImages(ctx, ['app:1'], { force: false })).rejects.toMatchObject({ code: 'IMAGE_IN_USE', message: expect.stringContaining('web') });
    const forced = await removeImages(ctx, ['app:1'], { force: true });
    expect(forced).toMatchObject({ untagged: ['docker.io/library/app:1'], deleted: [] });
    expect(openImageStore(root).blobs.has(app.manifestDescriptor.digest)).toBe(true);
  });

  it('by id: refuses when the id has several references, unless forced', async () => {
    await tagImage(ctx, 'app:1', 'app:copy');
    const id = app.configDescriptor.digest.slice(7, 19);
    await expect(removeImages(ctx, [id], { force: false })).rejects.toMatchObject({ code: 'USAGE' });
    const result = await removeImages(ctx, [id], { force: true });
    expect(result.untagged.sort()).toEqual(['docker.io/library/app:1', 'docker.io/library/app:copy']);
    expect(result.deleted).toContain(app.configDescriptor.digest);
  });
});

describe('image prune', () => {
  it('removes unreferenced content; with --all also every image no container uses', async () => {
    const store = openImageStore(root);
    store.blobs.put(Buffer.from('orphan'));
    const plain = await pruneImages(ctx, { all: false });
    expect(plain.untagged).toEqual([]);
    expect(plain.blobsRemoved).toHaveLength(1);

    writeContainerUsing(root, 'web', tool.manifestDescriptor.digest);
    const all = await pruneImages(ctx, { all: true });
    expect(all.untagged).toEqual(['docker.io/library/app:1']);
    expect(listImages(ctx).map((r) => r.reference)).toEqual(['docker.io/library/tool:2']);
    expect(all.layersRemoved).toHaveLength(1);
  });
});
