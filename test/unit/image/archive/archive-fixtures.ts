import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

import tar from 'tar-stream';

import type { BlobSink, BlobSource, ExportImageInput } from '../../../../src/image/archive/archive-types.js';
import { OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP, OCI_MANIFEST } from '../../../../src/image/registry/media-types.js';
import type { Descriptor } from '../../../../src/image/types.js';

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Blobs in memory: the source of exports and the sink of imports in unit tests. */
export class MemoryBlobs implements BlobSource, BlobSink {
  readonly blobs = new Map<string, Buffer>();
  writes = 0;

  put(bytes: Buffer): string {
    const digest = sha256(bytes);
    this.blobs.set(digest, bytes);
    return digest;
  }

  hasBlob(digest: string): boolean {
    return this.blobs.has(digest);
  }

  blobSize(digest: string): number {
    const blob = this.blobs.get(digest);
    if (!blob) throw new Error(`no blob ${digest}`);
    return blob.length;
  }

  async *readBlob(digest: string): AsyncIterable<Uint8Array> {
    const blob = this.blobs.get(digest);
    if (!blob) throw new Error(`no blob ${digest}`);
    // several chunks, as a file stream would give
    for (let at = 0; at < blob.length; at += 1000) yield blob.subarray(at, at + 1000);
    if (blob.length === 0) yield blob;
  }

  async writeBlob(descriptor: Descriptor, body: AsyncIterable<Uint8Array>): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk));
    this.blobs.set(descriptor.digest, Buffer.concat(chunks));
    this.writes += 1;
  }
}

export interface TarEntrySpec {
  name: string;
  content?: Buffer | string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
}

/** A tar in memory (tar-stream), entries in the given order. */
export async function makeTar(entries: TarEntrySpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      pack.entry({ name: e.name, type, mtime: new Date(0), ...(e.linkname ? { linkname: e.linkname } : {}) }, content, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function writeTarFile(path: string, entries: TarEntrySpec[]): Promise<void> {
  writeFileSync(path, await makeTar(entries));
}

export interface TestImage {
  input: ExportImageInput;
  manifest: { config: Descriptor; layers: Descriptor[] };
  diffIds: string[];
  configBytes: Buffer;
}

/** A small image in `blobs`: `layers` layers of a few files each (gzip unless told), an OCI manifest and config. */
export async function makeTestImage(
  blobs: MemoryBlobs,
  options: { names?: string[]; layers?: number; gzip?: boolean; seed?: string; bigLayerBytes?: number } = {},
): Promise<TestImage> {
  const seed = options.seed ?? 'a';
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < (options.layers ?? 2); i += 1) {
    const files: TarEntrySpec[] = [
      { name: `layer${i}/`, type: 'directory' },
      { name: `layer${i}/hello.txt`, content: `hello ${seed} ${i}\n` },
    ];
    if (options.bigLayerBytes && i === 0) files.push({ name: 'big.bin', content: Buffer.alloc(options.bigLayerBytes, seed) });
    const tarBytes = await makeTar(files);
    diffIds.push(sha256(tarBytes));
    const blob = options.gzip === false ? tarBytes : gzipSync(tarBytes);
    layers.push({ mediaType: options.gzip === false ? OCI_LAYER : OCI_LAYER_GZIP, digest: blobs.put(blob), size: blob.length });
  }
  const configBytes = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }),
  );
  const config: Descriptor = { mediaType: OCI_CONFIG, digest: blobs.put(configBytes), size: configBytes.length };
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }));
  const manifest: Descriptor = { mediaType: OCI_MANIFEST, digest: blobs.put(manifestBytes), size: manifestBytes.length };
  return { input: { names: options.names ?? ['docker.io/library/test:1'], manifest }, manifest: { config, layers }, diffIds, configBytes };
}
