import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { exportImage } from '../../../../src/image/archive/export-image.js';
import { importImageArchive } from '../../../../src/image/archive/import-archive.js';
import type { ExportImageInput } from '../../../../src/image/archive/archive-types.js';
import { OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST } from '../../../../src/image/registry/media-types.js';
import { makeTar, makeTestImage, MemoryBlobs, sha256, writeTarFile } from './archive-fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'devenv-docker-archive-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function tarFiles(path: string): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  const files = new Map<string, Buffer>();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      files.set(entry.header.name, Buffer.concat(chunks));
    }
  })();
  extract.end(readFileSync(path));
  await done;
  return files;
}

/** A `docker save` archive of Docker < 25: `<id>/layer.tar`, `<hex>.json`, manifest.json last, a symlinked layer. */
async function legacyDockerSave(path: string, options: { gzipLayer?: boolean } = {}): Promise<{ diffIds: string[]; configDigest: string }> {
  const layerA = await makeTar([{ name: 'a.txt', content: 'a\n' }]);
  const diffIds = [sha256(layerA), sha256(layerA)]; // the same layer twice: Docker links the second to the first
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configDigest = sha256(config);
  await writeTarFile(path, [
    { name: 'aaaa/', type: 'directory' },
    { name: 'aaaa/layer.tar', content: options.gzipLayer ? gzipSync(layerA) : layerA },
    { name: 'bbbb/', type: 'directory' },
    { name: 'bbbb/layer.tar', type: 'symlink', linkname: '../aaaa/layer.tar' },
    { name: `${configDigest.slice(7)}.json`, content: config },
    { name: 'repositories', content: '{"busybox":{"old":"bbbb"}}' },
    {
      name: 'manifest.json',
      content: JSON.stringify([{ Config: `${configDigest.slice(7)}.json`, RepoTags: ['busybox:old'], Layers: ['aaaa/layer.tar', 'bbbb/layer.tar'] }]),
    },
  ]);
  return { diffIds, configDigest };
}

describe('docker-archive', () => {
  it('exports uncompressed layers named by diff id, with RepoTags, and imports them back', async () => {
    const source = new MemoryBlobs();
    const image = await makeTestImage(source, { names: ['docker.io/library/test:1', 'ghcr.io/o/app:2', 'docker.io/library/x@sha256:' + 'a'.repeat(64)] });
    const path = join(dir, 'image.tar');
    await exportImage(source, [image.input], 'docker-archive', path);
    const files = await tarFiles(path);
    const manifest = JSON.parse(files.get('manifest.json')!.toString());
    expect(manifest).toEqual([
      {
        Config: `${image.manifest.config.digest.slice(7)}.json`,
        RepoTags: ['test:1', 'ghcr.io/o/app:2'],
        Layers: image.diffIds.map((d) => `${d.slice(7)}.tar`),
      },
    ]);
    for (const [i, diffId] of image.diffIds.entries()) {
      const layer = files.get(`${diffId.slice(7)}.tar`)!;
      expect(sha256(layer)).toBe(diffId);
      expect(layer.equals(gunzipSync(source.blobs.get(image.manifest.layers[i]!.digest)!))).toBe(true);
    }

    const sink = new MemoryBlobs();
    const imported = await importImageArchive(path, sink);
    expect(imported.format).toBe('docker-archive');
    const [img] = imported.images;
    expect(img?.names).toEqual(['test:1', 'ghcr.io/o/app:2']);
    expect(img?.configDigest).toBe(image.manifest.config.digest);
    const m = JSON.parse(sink.blobs.get(img!.manifest.digest)!.toString());
    expect(m.mediaType).toBe(OCI_MANIFEST);
    expect(m.config).toEqual({ mediaType: OCI_CONFIG, digest: image.manifest.config.digest, size: image.configBytes.length });
    expect(m.layers.map((l: { digest: string; mediaType: string }) => [l.mediaType, l.digest])).toEqual(image.diffIds.map((d) => [OCI_LAYER, d]));
    expect(sha256(sink.blobs.get(img!.manifest.digest)!)).toBe(img!.manifest.digest);
  });

  it('imports a legacy `docker save` archive with a symlinked layer', async () => {
    const path = join(dir, 'legacy.tar');
    const { diffIds, configDigest } = await legacyDockerSave(path);
    const sink = new MemoryBlobs();
    const imported = await importImageArchive(path, sink);
    expect(imported.images[0]?.names).toEqual(['busybox:old']);
    expect(imported.images[0]?.configDigest).toBe(configDigest);
    expect(imported.images[0]?.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    const m = JSON.parse(sink.blobs.get(imported.images[0]!.manifest.digest)!.toString());
    expect(m.layers.map((l: { digest: string }) => l.digest)).toEqual(diffIds);
    expect(sink.blobs.has(diffIds[0]!)).toBe(true);
  });

  it('computes the digest of a compressed layer that is not named by it (streamed in a second pass)', async () => {
    const path = join(dir, 'gz.tar');
    await legacyDockerSave(path, { gzipLayer: true });
    const sink = new MemoryBlobs();
    const imported = await importImageArchive(path, sink, { bufferFileBytes: 16 });
    const m = JSON.parse(sink.blobs.get(imported.images[0]!.manifest.digest)!.toString());
    const blob = [...sink.blobs.values()].find((b) => b[0] === 0x1f)!;
    expect(m.layers[0]).toEqual({ mediaType: OCI_LAYER_GZIP, digest: sha256(blob), size: blob.length });
  });

  it.each([
    ['a layer path with `..`', { Config: 'c.json', Layers: ['../../etc/passwd'] }, /contains `\.\.`/],
    ['an absolute config path', { Config: '/etc/passwd', Layers: [] }, /absolute path/],
  ])('rejects manifest.json with %s', async (_what, entry, message) => {
    const path = join(dir, 'hostile.tar');
    await writeTarFile(path, [
      { name: 'c.json', content: JSON.stringify({ rootfs: { type: 'layers', diff_ids: entry.Layers.map(() => sha256('x')) } }) },
      { name: 'manifest.json', content: JSON.stringify([{ RepoTags: ['x:1'], ...entry }]) },
    ]);
    await expect(importImageArchive(path, new MemoryBlobs())).rejects.toMatchObject({ code: 'ARCHIVE_INVALID', message: expect.stringMatching(message) });
  });

  it('rejects an uncompressed layer that is not what the config says', async () => {
    const layer = await makeTar([{ name: 'a.txt', content: 'a\n' }]);
    const config = JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha256('something else')] } });
    const path = join(dir, 'lying.tar');
    await writeTarFile(path, [
      { name: 'l.tar', content: layer },
      { name: 'c.json', content: config },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: [], Layers: ['l.tar'] }]) },
    ]);
    const sink = new MemoryBlobs();
    await expect(importImageArchive(path, sink)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(sink.blobs.size).toBe(0);
  });

  it('round-trips layout → oci-archive → docker-archive → layout keeping the config and diff ids', async () => {
    const original = new MemoryBlobs();
    const image = await makeTestImage(original, { names: ['docker.io/library/rt:1'], layers: 3 });
    const asInput = (sink: MemoryBlobs, r: Awaited<ReturnType<typeof importImageArchive>>): ExportImageInput => ({
      names: ['docker.io/library/rt:1'],
      manifest: r.images[0]!.manifest,
    });
    await exportImage(original, [image.input], 'oci-dir', join(dir, 'layout'));
    const a = new MemoryBlobs();
    const fromDir = await importImageArchive(join(dir, 'layout'), a);
    await exportImage(a, [asInput(a, fromDir)], 'oci-archive', join(dir, 'oci.tar'));
    const b = new MemoryBlobs();
    const fromOci = await importImageArchive(join(dir, 'oci.tar'), b);
    expect(fromOci.images[0]?.manifest.digest).toBe(image.input.manifest.digest);
    await exportImage(b, [asInput(b, fromOci)], 'docker-archive', join(dir, 'docker.tar'));
    const c = new MemoryBlobs();
    const fromDocker = await importImageArchive(join(dir, 'docker.tar'), c);
    expect(fromDocker.images[0]?.configDigest).toBe(image.manifest.config.digest);
    await exportImage(c, [asInput(c, fromDocker)], 'oci-dir', join(dir, 'layout2'));
    const d = new MemoryBlobs();
    const fromDir2 = await importImageArchive(join(dir, 'layout2'), d);
    expect(fromDir2.images[0]?.manifest.digest).toBe(fromDocker.images[0]?.manifest.digest);
    const config = JSON.parse(d.blobs.get(fromDir2.images[0]!.configDigest)!.toString());
    expect(config.rootfs.diff_ids).toEqual(image.diffIds);
    expect(fromDir2.images[0]?.names).toEqual(['docker.io/library/rt:1', '1']);
  });

  it('refuses to export a zstd layer as docker-archive when Node cannot decompress zstd', async () => {
    const source = new MemoryBlobs();
    const image = await makeTestImage(source);
    const manifest = JSON.parse(source.blobs.get(image.input.manifest.digest)!.toString());
    manifest.layers[0].mediaType = OCI_LAYER_ZSTD;
    const bytes = Buffer.from(JSON.stringify(manifest));
    const input = { names: [], manifest: { mediaType: OCI_MANIFEST, digest: source.put(bytes), size: bytes.length } };
    const zlib = (await import('node:zlib')) as unknown as { createZstdDecompress?: unknown };
    const result = exportImage(source, [input], 'docker-archive', join(dir, 'z.tar'));
    if (zlib.createZstdDecompress) await expect(result).rejects.toThrow();
    else await expect(result).rejects.toMatchObject({ code: 'ARCHIVE_UNSUPPORTED' });
  });
});
