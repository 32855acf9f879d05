import { mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { exportImage } from '../../../../src/image/archive/export-image.js';
import { importImageArchive } from '../../../../src/image/archive/import-archive.js';
import { OCI_INDEX } from '../../../../src/image/registry/media-types.js';
import { makeTestImage, MemoryBlobs } from './archive-fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'devenv-oci-layout-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('OCI image layout directory', () => {
  it('round-trips an image: same manifest digest, names from the annotations, every blob', async () => {
    const source = new MemoryBlobs();
    const image = await makeTestImage(source, { names: ['docker.io/library/test:1', '127.0.0.1:5000/x/y:latest'] });
    const out = join(dir, 'layout');
    const exported = await exportImage(source, [image.input], 'oci-dir', out);
    expect(exported.format).toBe('oci-dir');

    expect(JSON.parse(readFileSync(join(out, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
    expect(index.mediaType).toBe(OCI_INDEX);
    expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'])).toEqual(['1', 'latest']);
    expect(readdirSync(join(out, 'blobs', 'sha256')).sort()).toEqual([...source.blobs.keys()].map((d) => d.slice(7)).sort());

    const sink = new MemoryBlobs();
    const imported = await importImageArchive(out, sink);
    expect(imported.format).toBe('oci-dir');
    expect(imported.images).toHaveLength(1);
    expect(imported.images[0]?.manifest.digest).toBe(image.input.manifest.digest);
    expect(imported.images[0]?.configDigest).toBe(image.manifest.config.digest);
    expect(imported.images[0]?.names).toEqual(['docker.io/library/test:1', '1', '127.0.0.1:5000/x/y:latest', 'latest']);
    expect(imported.images[0]?.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    for (const [digest, bytes] of source.blobs) expect(sink.blobs.get(digest)?.equals(bytes)).toBe(true);
  });

  it('skips blobs the sink already has', async () => {
    const source = new MemoryBlobs();
    const image = await makeTestImage(source);
    const out = join(dir, 'layout');
    await exportImage(source, [image.input], 'oci-dir', out);
    const sink = new MemoryBlobs();
    sink.blobs.set(image.manifest.layers[0]!.digest, source.blobs.get(image.manifest.layers[0]!.digest)!);
    const result = await importImageArchive(out, sink);
    expect(result.blobsWritten).toBe(source.blobs.size - 1);
  });

  it('refuses to export into a non-empty directory and leaves nothing behind on failure', async () => {
    const source = new MemoryBlobs();
    const image = await makeTestImage(source);
    writeFileSync(join(dir, 'something'), 'x');
    await expect(exportImage(source, [image.input], 'oci-dir', dir)).rejects.toMatchObject({ code: 'USAGE' });
    source.blobs.set(image.manifest.layers[1]!.digest, Buffer.from('corrupted'));
    const out = join(dir, 'out');
    await expect(exportImage(source, [image.input], 'oci-dir', out)).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual(['something']);
  });

  it('rejects a tampered layer with DIGEST_MISMATCH and writes nothing of it', async () => {
    const source = new MemoryBlobs();
    const image = await makeTestImage(source);
    const out = join(dir, 'layout');
    await exportImage(source, [image.input], 'oci-dir', out);
    const layer = image.manifest.layers[0]!;
    const path = join(out, 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = readFileSync(path);
    bytes[bytes.length - 1]! ^= 0xff;
    unlinkSync(path);
    writeFileSync(path, bytes);
    const sink = new MemoryBlobs();
    await expect(importImageArchive(out, sink)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(sink.blobs.has(layer.digest)).toBe(false);
  });

  it('rejects a digest that is not sha256 hex (it would become a path)', async () => {
    const out = join(dir, 'layout');
    const source = new MemoryBlobs();
    const image = await makeTestImage(source);
    await exportImage(source, [image.input], 'oci-dir', out);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
    index.manifests[0].digest = 'sha256:../../../../etc/passwd';
    writeFileSync(join(out, 'index.json'), JSON.stringify(index));
    await expect(importImageArchive(out, new MemoryBlobs())).rejects.toMatchObject({ code: 'ARCHIVE_INVALID', message: expect.stringMatching(/digest/) });
  });

  it('rejects a blob that is a symbolic link out of the directory', async () => {
    const out = join(dir, 'layout');
    const source = new MemoryBlobs();
    const image = await makeTestImage(source);
    await exportImage(source, [image.input], 'oci-dir', out);
    const layer = image.manifest.layers[0]!;
    const path = join(out, 'blobs', 'sha256', layer.digest.slice(7));
    const outside = join(dir, 'outside');
    writeFileSync(outside, readFileSync(path));
    unlinkSync(path);
    symlinkSync(outside, path);
    await expect(importImageArchive(out, new MemoryBlobs())).rejects.toMatchObject({ code: 'ARCHIVE_INVALID', message: expect.stringMatching(/outside/) });
  });

  it('names missing blobs and missing layout files', async () => {
    const out = join(dir, 'layout');
    const source = new MemoryBlobs();
    const image = await makeTestImage(source);
    await exportImage(source, [image.input], 'oci-dir', out);
    unlinkSync(join(out, 'blobs', 'sha256', image.manifest.layers[1]!.digest.slice(7)));
    await expect(importImageArchive(out, new MemoryBlobs())).rejects.toMatchObject({ code: 'ARCHIVE_INVALID', message: expect.stringMatching(/not in the archive/) });
    unlinkSync(join(out, 'oci-layout'));
    unlinkSync(join(out, 'index.json'));
    await expect(importImageArchive(out, new MemoryBlobs())).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
    await expect(importImageArchive(join(dir, 'nope'), new MemoryBlobs())).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('picks the host platform from a nested multi-platform index', async () => {
    const source = new MemoryBlobs();
    const amd = await makeTestImage(source, { seed: 'amd' });
    const arm = await makeTestImage(source, { seed: 'arm' });
    const out = join(dir, 'layout');
    await exportImage(source, [amd.input, arm.input], 'oci-dir', out);
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { ...arm.input.manifest, platform: { os: 'linux', architecture: 'arm64' } },
          { ...amd.input.manifest, platform: { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64x' : 'amd64' } },
        ],
      }),
    );
    const { createHash } = await import('node:crypto');
    const hex = createHash('sha256').update(nested).digest('hex');
    writeFileSync(join(out, 'blobs', 'sha256', hex), nested);
    writeFileSync(
      join(out, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: OCI_INDEX, digest: `sha256:${hex}`, size: nested.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }],
      }),
    );
    const result = await importImageArchive(out, new MemoryBlobs(), { platform: { os: 'linux', architecture: 'arm64' } });
    expect(result.images).toHaveLength(1);
    expect(result.images[0]?.manifest.digest).toBe(arm.input.manifest.digest);
    expect(result.images[0]?.indexDigest).toBe(`sha256:${hex}`);
    expect(result.images[0]?.names).toEqual(['multi']);
  });
});
