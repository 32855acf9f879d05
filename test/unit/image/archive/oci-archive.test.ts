import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { exportImage } from '../../../../src/image/archive/export-image.js';
import { importImageArchive } from '../../../../src/image/archive/import-archive.js';
import { makeTestImage, MemoryBlobs, sha256, writeTarFile, type TarEntrySpec } from './archive-fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'devenv-oci-archive-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function tarNames(path: string): Promise<string[]> {
  const extract = tar.extract();
  const names: string[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      names.push(entry.header.name);
      entry.resume();
    }
  })();
  extract.end(readFileSync(path));
  await done;
  return names;
}

/** A valid oci-archive's entries, for tests that add something hostile to it. */
async function validEntries(): Promise<{ entries: TarEntrySpec[]; source: MemoryBlobs }> {
  const source = new MemoryBlobs();
  const image = await makeTestImage(source, { names: ['docker.io/library/test:1'] });
  const path = join(dir, 'valid.tar');
  await exportImage(source, [image.input], 'oci-archive', path);
  const extract = tar.extract();
  const entries: TarEntrySpec[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      entries.push({ name: entry.header.name, type: entry.header.type as TarEntrySpec['type'], content: Buffer.concat(chunks) });
    }
  })();
  extract.end(readFileSync(path));
  await done;
  rmSync(path);
  return { entries, source };
}

describe('oci-archive', () => {
  it('round-trips, writing metadata before layers with fixed tar metadata', async () => {
    const source = new MemoryBlobs();
    const image = await makeTestImage(source, { names: ['docker.io/library/test:1'] });
    const path = join(dir, 'image.tar');
    const result = await exportImage(source, [image.input], 'oci-archive', path);
    expect(result.bytes).toBe(readFileSync(path).length);
    const names = await tarNames(path);
    expect(names.slice(0, 4)).toEqual(['oci-layout', 'index.json', 'blobs/', 'blobs/sha256/']);
    expect(names[4]).toBe(`blobs/sha256/${image.input.manifest.digest.slice(7)}`);
    expect(readdirSync(dir)).toEqual(['image.tar']);

    const again = join(dir, 'again.tar');
    await exportImage(source, [image.input], 'oci-archive', again);
    expect(readFileSync(again).equals(readFileSync(path))).toBe(true);

    const sink = new MemoryBlobs();
    const imported = await importImageArchive(path, sink);
    expect(imported.format).toBe('oci-archive');
    expect(imported.images[0]?.manifest.digest).toBe(image.input.manifest.digest);
    expect(imported.images[0]?.names).toEqual(['docker.io/library/test:1', '1']);
    for (const [digest, bytes] of source.blobs) expect(sink.blobs.get(digest)?.equals(bytes)).toBe(true);
  });

  it('streams layers in a second pass when they are too big to keep, and reads a gzip-compressed archive', async () => {
    const source = new MemoryBlobs();
    const image = await makeTestImage(source, { bigLayerBytes: 3 * 1024 * 1024, gzip: false });
    const path = join(dir, 'image.tar');
    await exportImage(source, [image.input], 'oci-archive', path);
    const sink = new MemoryBlobs();
    const imported = await importImageArchive(path, sink, { bufferFileBytes: 64 * 1024, bufferTotalBytes: 1024 });
    expect(imported.images[0]?.manifest.digest).toBe(image.input.manifest.digest);
    for (const [digest, bytes] of source.blobs) expect(sink.blobs.get(digest)?.equals(bytes)).toBe(true);

    const gz = join(dir, 'image.tar.gz');
    writeFileSync(gz, gzipSync(readFileSync(path)));
    const fromGz = await importImageArchive(gz, new MemoryBlobs(), { bufferFileBytes: 1024 });
    expect(fromGz.images[0]?.manifest.digest).toBe(image.input.manifest.digest);
  });

  it('leaves no file behind when an export fails', async () => {
    const source = new MemoryBlobs();
    const image = await makeTestImage(source);
    source.blobs.delete(image.manifest.layers[1]!.digest);
    const path = join(dir, 'image.tar');
    await expect(exportImage(source, [image.input], 'oci-archive', path)).rejects.toThrow();
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);

    // a blob whose content turns out wrong half-way through its tar entry
    const big = await makeTestImage(source, { bigLayerBytes: 500_000, gzip: false, seed: 'b' });
    const layer = big.manifest.layers[0]!.digest;
    const bytes = Buffer.from(source.blobs.get(layer)!);
    bytes[bytes.length - 10]! ^= 1;
    source.blobs.set(layer, bytes);
    await expect(exportImage(source, [big.input], 'oci-archive', path)).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    await expect(exportImage(source, [big.input], 'docker-archive', path)).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['a `..` entry', { name: '../evil', content: 'x' }, /contains `\.\.`/],
    ['a `..` entry inside a path', { name: 'blobs/../../evil', content: 'x' }, /contains `\.\.`/],
    ['an absolute entry', { name: '/etc/evil', content: 'x' }, /absolute path/],
    ['a symlink out of the archive', { name: 'blobs/link', type: 'symlink', linkname: '../../etc/passwd' }, /outside the archive/],
    ['an absolute symlink', { name: 'blobs/link', type: 'symlink', linkname: '/etc/passwd' }, /absolute path/],
    ['a hard link to `..`', { name: 'blobs/hl', type: 'link', linkname: '../etc/passwd' }, /contains `\.\.`/],
    ['a duplicate entry', { name: 'index.json', content: '{"manifests":[]}' }, /appears twice/],
  ] as Array<[string, TarEntrySpec, RegExp]>)('rejects an archive with %s', async (_what, hostile, message) => {
    const { entries } = await validEntries();
    const path = join(dir, 'hostile.tar');
    await writeTarFile(path, [...entries, hostile]);
    const sink = new MemoryBlobs();
    await expect(importImageArchive(path, sink)).rejects.toMatchObject({ code: 'ARCHIVE_INVALID', message: expect.stringMatching(message) });
    expect(sink.blobs.size).toBe(0);
  });

  it('rejects a blob whose content does not match its name', async () => {
    const { entries, source } = await validEntries();
    const layerDigest = [...source.blobs.entries()].find(([, b]) => b[0] === 0x1f)![0];
    const flip = (b: Buffer): Buffer => {
      const copy = Buffer.from(b);
      copy[copy.length - 1]! ^= 0xff;
      return copy;
    };
    const tampered = entries.map((e) => (e.name === `blobs/sha256/${layerDigest.slice(7)}` ? { ...e, content: flip(e.content as Buffer) } : e));
    const path = join(dir, 'tampered.tar');
    await writeTarFile(path, tampered);
    await expect(importImageArchive(path, new MemoryBlobs())).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('rejects garbage and truncated archives clearly', async () => {
    const garbage = join(dir, 'garbage.tar');
    writeFileSync(garbage, Buffer.alloc(2048, 7));
    await expect(importImageArchive(garbage, new MemoryBlobs())).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
    const source = new MemoryBlobs();
    const image = await makeTestImage(source, { bigLayerBytes: 200_000, gzip: false });
    const path = join(dir, 'image.tar');
    await exportImage(source, [image.input], 'oci-archive', path);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 150_000));
    await expect(importImageArchive(path, new MemoryBlobs())).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
  });

  it('refuses an image whose config lists the wrong number of diff ids', async () => {
    const { entries, source } = await validEntries();
    const configEntry = [...source.blobs.entries()].find(([, b]) => b.toString().includes('diff_ids'))!;
    const config = JSON.parse(configEntry[1].toString());
    config.rootfs.diff_ids.pop();
    const bytes = Buffer.from(JSON.stringify(config));
    const newDigest = sha256(bytes);
    const manifestEntry = [...source.blobs.entries()].find(([, b]) => b.toString().includes('"schemaVersion"'))!;
    const manifest = JSON.parse(manifestEntry[1].toString());
    manifest.config = { ...manifest.config, digest: newDigest, size: bytes.length };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const index = { schemaVersion: 2, manifests: [{ mediaType: manifest.mediaType, digest: sha256(manifestBytes), size: manifestBytes.length }] };
    const path = join(dir, 'bad.tar');
    await writeTarFile(path, [
      ...entries.filter((e) => e.name !== 'index.json'),
      { name: 'index.json', content: JSON.stringify(index) },
      { name: `blobs/sha256/${newDigest.slice(7)}`, content: bytes },
      { name: `blobs/sha256/${sha256(manifestBytes).slice(7)}`, content: manifestBytes },
    ]);
    const error = await importImageArchive(path, new MemoryBlobs()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ARCHIVE_INVALID', message: expect.stringMatching(/diff ids for 2 layers/) });
  });
});
