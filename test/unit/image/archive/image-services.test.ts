import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { exportImage } from '../../../../src/image/archive/export-image.js';
import { createStderrLogger } from '../../../../src/host/logger.js';
import { openImageStore } from '../../../../src/image/store/image-store.js';
import type { Descriptor, ImageReference } from '../../../../src/image/types.js';
import { exportImages } from '../../../../src/services/image/export.js';
import { importImage } from '../../../../src/services/image/import.js';
import { loginRegistry, logoutRegistry } from '../../../../src/services/image/login.js';
import { pushImage, type PushRegistry } from '../../../../src/services/image/push.js';
import { makeTestImage, MemoryBlobs, sha256, writeTarFile } from './archive-fixtures.js';

// The import/export/push/login services over a real image store in a temporary directory (no root, no network).

let dir: string;
let ctx: { root: string; logger: ReturnType<typeof createStderrLogger> };
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'devenv-image-services-'));
  ctx = { root: join(dir, 'store'), logger: createStderrLogger('error') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function archiveOf(names: string[], format: 'oci-archive' | 'docker-archive' | 'oci-dir' = 'oci-archive') {
  const source = new MemoryBlobs();
  const image = await makeTestImage(source, { names });
  const path = join(dir, `in-${format}`);
  await exportImage(source, [image.input], format, path);
  return { source, image, path };
}

/** A registry in memory, as the push service sees it. */
class MemoryRegistry implements PushRegistry {
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, Buffer>();
  async hasBlob(_ref: ImageReference, digest: string): Promise<boolean> {
    return this.blobs.has(digest);
  }
  async pushBlob(_ref: ImageReference, descriptor: Descriptor, open: () => AsyncIterable<Uint8Array>): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of open()) chunks.push(Buffer.from(c));
    const bytes = Buffer.concat(chunks);
    if (sha256(bytes) !== descriptor.digest) throw new Error('digest mismatch');
    this.blobs.set(descriptor.digest, bytes);
  }
  async pushManifest(ref: ImageReference, _mediaType: string, bytes: Buffer): Promise<string> {
    this.manifests.set(`${ref.repository}:${ref.tag}`, bytes);
    return sha256(bytes);
  }
}

describe('image import / export services', () => {
  it('imports into the store under the archive names, with chain ids, and exports it back unchanged', async () => {
    const { image, path, source } = await archiveOf(['docker.io/library/test:1']);
    const result = await importImage(ctx, path);
    expect(result).toMatchObject({ format: 'oci-archive', blobsWritten: 4 });
    expect(result.images).toEqual([{ references: ['docker.io/library/test:1'], manifestDigest: image.input.manifest.digest, configDigest: image.manifest.config.digest }]);
    const store = openImageStore(ctx.root);
    const entry = store.index.get('docker.io/library/test:1');
    expect(entry).toMatchObject({ manifestDigest: image.input.manifest.digest, chainIds: store.readImage(image.input.manifest.digest).layers.map((l) => l.chainId) });
    for (const digest of source.blobs.keys()) expect(statSync(store.blobs.path(digest)).isFile()).toBe(true);

    const again = await importImage(ctx, path);
    expect(again.blobsWritten).toBe(0);

    const out = join(dir, 'out.tar');
    const exported = await exportImages(ctx, ['test:1'], { output: out });
    expect(exported.format).toBe('oci-archive');
    expect(readFileSync(out).equals(readFileSync(path))).toBe(true);
  });

  it('names an image with --name, and asks for one when the archive gives only a tag', async () => {
    const { path } = await archiveOf(['docker.io/library/test:1']);
    const named = await importImage(ctx, path, { name: 'my/thing:2' });
    expect(named.images[0]?.references).toEqual(['docker.io/my/thing:2']);

    const source = new MemoryBlobs();
    const image = await makeTestImage(source, { names: [] });
    const dirLayout = join(dir, 'layout');
    await exportImage(source, [image.input], 'oci-dir', dirLayout);
    await expect(importImage(ctx, dirLayout)).rejects.toMatchObject({ code: 'USAGE', hint: expect.stringMatching(/--name/) });
  });

  it('imports docker-archives and refuses hostile ones without touching the index', async () => {
    const hostile = join(dir, 'hostile.tar');
    await writeTarFile(hostile, [
      { name: 'c.json', content: JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha256('x')] } }) },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['evil:1'], Layers: ['../../../etc/shadow'] }]) },
    ]);
    await expect(importImage(ctx, hostile)).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
    expect(openImageStore(ctx.root).index.entries()).toEqual([]);

    const { path } = await archiveOf(['docker.io/library/test:1'], 'docker-archive');
    const result = await importImage(ctx, path);
    expect(result.images[0]?.references).toEqual(['docker.io/library/test:1']);
    await expect(importImage(ctx, join(dir, 'missing.tar'))).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('leaves no file when exporting an unknown image', async () => {
    await expect(exportImages(ctx, ['nope:1'], { output: join(dir, 'x.tar') })).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });
    expect(existsSync(join(dir, 'x.tar'))).toBe(false);
  });
});

describe('image push service', () => {
  it('uploads the blobs the registry lacks, then the manifest byte for byte', async () => {
    const { image, path } = await archiveOf(['docker.io/library/test:1']);
    await importImage(ctx, path);
    const registry = new MemoryRegistry();
    const events: string[] = [];
    const pushed = await pushImage(ctx, 'test:1', { destination: '127.0.0.1:5000/x/test:9', registry, onProgress: (e) => events.push(e.status) });
    expect(pushed).toMatchObject({ reference: '127.0.0.1:5000/x/test:9', manifestDigest: image.input.manifest.digest });
    expect(pushed.blobs.map((b) => b.status)).toEqual(['pushed', 'pushed', 'pushed']);
    expect(sha256(registry.manifests.get('x/test:9')!)).toBe(image.input.manifest.digest);
    const again = await pushImage(ctx, 'test:1', { registry });
    expect(again.reference).toBe('docker.io/library/test:1');
    expect(again.blobs.map((b) => b.status)).toEqual(['exists', 'exists', 'exists']);
  });

  it('refuses to push a corrupted blob', async () => {
    const { image, path } = await archiveOf(['docker.io/library/test:1']);
    await importImage(ctx, path);
    const store = openImageStore(ctx.root);
    const layer = store.blobs.path(image.manifest.layers[0]!.digest);
    rmSync(layer);
    await expect(pushImage(ctx, 'test:1', { registry: new MemoryRegistry() })).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
  });
});

describe('login / logout services', () => {
  it('saves checked credentials in devenv auth.json (0600) and removes them', async () => {
    const env = { XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
    const check = async (server: string) => ({ registry: server, verified: true });
    const saved = await loginRegistry(ctx, { server: '127.0.0.1:5000', username: 'me', password: 's3cret', check, env });
    expect(saved).toEqual({ registry: '127.0.0.1:5000', verified: true, authFile: join(dir, 'config', 'devenv', 'auth.json') });
    expect(statSync(saved.authFile).mode & 0o777).toBe(0o600);
    const auth = JSON.parse(readFileSync(saved.authFile, 'utf8'));
    expect(Buffer.from(auth.auths['127.0.0.1:5000'].auth, 'base64').toString()).toBe('me:s3cret');
    expect(await logoutRegistry(ctx, '127.0.0.1:5000', { env })).toMatchObject({ registry: '127.0.0.1:5000', removed: true });
    expect(await logoutRegistry(ctx, '127.0.0.1:5000', { env })).toMatchObject({ removed: false });
  });

  it('refuses empty credentials and does not save refused ones', async () => {
    const env = { XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
    await expect(loginRegistry(ctx, { server: 'r.example', username: '', password: 'x', env })).rejects.toMatchObject({ code: 'USAGE' });
    const refuse = async () => {
      throw Object.assign(new Error('refused'), { code: 'REGISTRY_UNAUTHORIZED' });
    };
    await expect(loginRegistry(ctx, { server: 'r.example', username: 'me', password: 'bad', check: refuse, env })).rejects.toThrow('refused');
    expect(existsSync(join(dir, 'config', 'devenv', 'auth.json'))).toBe(false);
  });
});
