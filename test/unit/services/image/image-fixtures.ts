/**
 * Small in-memory images for the image store and service tests: real tar layers (tar-stream), gzip or not, a
 * config with true diff_ids, an OCI manifest; a registry fake serving them from memory (the `PullRegistry` subset
 * of RegistryClient) and an unpack fake that extracts plain or gzip tars with tar-stream and, as the native
 * unpacker does, reports the diff_id (sha256 of the uncompressed tar) and fails when it is not the expected one.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import * as tar from 'tar-stream';

import { createStderrLogger } from '../../../../src/host/logger.js';
import type { ImageServiceContext, PullRegistry, UnpackLayerRequest } from '../../../../src/services/image/image-context.js';
import { diffIdMismatch, type UnpackLayerResult } from '../../../../src/image/unpack/unpack-layer.js';
import type { Descriptor, ImageReference } from '../../../../src/image/types.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A tar of regular files (path → content). */
export async function makeTar(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o644, mtime: new Date(0) }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface TestLayer {
  descriptor: Descriptor;
  blob: Buffer;
  diffId: string;
}

export interface TestImage {
  layers: TestLayer[];
  config: Buffer;
  configDescriptor: Descriptor;
  manifest: Buffer;
  manifestDescriptor: Descriptor;
  /** Every blob by digest (config and layers). */
  blobs: Map<string, Buffer>;
}

export interface BuildImageOptions {
  gzip?: boolean;
  /** Replace the config's diff_ids (to make an image whose config lies). */
  diffIds?: string[];
  created?: string;
}

/** An image whose layers hold the given files, bottom-most first. */
export async function buildImage(layerFiles: Array<Record<string, string>>, options: BuildImageOptions = {}): Promise<TestImage> {
  const layers: TestLayer[] = [];
  for (const files of layerFiles) {
    const tarBytes = await makeTar(files);
    const blob = options.gzip ? gzipSync(tarBytes) : tarBytes;
    layers.push({ blob, diffId: sha256(tarBytes), descriptor: { mediaType: options.gzip ? LAYER_GZIP : LAYER_TAR, digest: sha256(blob), size: blob.length } });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: options.created ?? '2024-01-02T03:04:05Z',
      config: { Cmd: ['/bin/sh'], Env: ['PATH=/usr/bin:/bin'] },
      rootfs: { type: 'layers', diff_ids: options.diffIds ?? layers.map((l) => l.diffId) },
    }),
  );
  const configDescriptor = { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDescriptor, layers: layers.map((l) => l.descriptor) }));
  const manifestDescriptor = { mediaType: OCI_MANIFEST, digest: sha256(manifest), size: manifest.length };
  const blobs = new Map<string, Buffer>([[configDescriptor.digest, config], ...layers.map((l): [string, Buffer] => [l.descriptor.digest, l.blob])]);
  return { layers, config, configDescriptor, manifest, manifestDescriptor, blobs };
}

/** A registry in memory: images by `repository:tag`, blobs by digest, with counters and hooks for the tests. */
export class MemoryRegistry implements PullRegistry {
  readonly images = new Map<string, TestImage>();
  readonly blobs = new Map<string, Buffer>();
  readonly blobFetches: Array<{ digest: string; offset: number }> = [];
  /** Called before a blob is served; may delay or throw. */
  beforeBlob: (digest: string) => Promise<void> = async () => {};
  /** Bytes per chunk of a blob body. */
  chunkSize = 1024;
  /** digest → byte count after which that blob's next body breaks (a connection reset), once. */
  readonly breakAfter = new Map<string, number>();

  add(repoTag: string, image: TestImage): void {
    this.images.set(repoTag, image);
    for (const [digest, bytes] of image.blobs) this.blobs.set(digest, bytes);
  }

  async getManifest(ref: ImageReference): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const image =
      this.images.get(`${ref.repository}:${ref.tag ?? ''}`) ?? [...this.images.values()].find((i) => i.manifestDescriptor.digest === ref.digest);
    if (!image) throw Object.assign(new Error(`not found: ${ref.repository}`), { code: 'TEST_NOT_FOUND' });
    return { descriptor: image.manifestDescriptor, bytes: image.manifest };
  }

  async fetchBlob(_ref: ImageReference, descriptor: Descriptor, options: { offset?: number; signal?: AbortSignal } = {}) {
    const offset = options.offset ?? 0;
    this.blobFetches.push({ digest: descriptor.digest, offset });
    await this.beforeBlob(descriptor.digest);
    const bytes = this.blobs.get(descriptor.digest);
    if (!bytes) throw new Error(`no blob ${descriptor.digest}`);
    const size = this.chunkSize;
    const signal = options.signal;
    const breakAt = this.breakAfter.get(descriptor.digest);
    this.breakAfter.delete(descriptor.digest);
    async function* body(): AsyncIterable<Uint8Array> {
      for (let at = offset; at < bytes!.length; at += size) {
        signal?.throwIfAborted();
        if (breakAt !== undefined && at - offset >= breakAt) throw new Error('connection reset by peer');
        yield bytes!.subarray(at, at + size);
        await new Promise((r) => setImmediate(r));
      }
    }
    return { body: body(), resumed: offset > 0 };
  }

  fetchesOf(digest: string): number {
    return this.blobFetches.filter((f) => f.digest === digest).length;
  }
}

/** The uncompressed tar of a plain or gzip layer blob (the bytes decide, as in the native unpacker). */
function uncompressedTar(blobPath: string): Buffer {
  const bytes = readFileSync(blobPath);
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
}

/** What the native unpacker reports for a blob: the diff_id and size of its uncompressed tar. */
export function fakeUnpackResult(blobPath: string): UnpackLayerResult {
  const tarBytes = uncompressedTar(blobPath);
  return { diffId: sha256(tarBytes), size: tarBytes.length };
}

/**
 * Unpack plain or gzip tars into destDir with tar-stream (regular files and directories only); resolves with the
 * diff_id and size, and rejects with DIGEST_MISMATCH (after unpacking, as the native unpacker) when `expectDiffId`
 * is given and differs.
 */
export function createFakeUnpack(): { unpack: (o: UnpackLayerRequest) => Promise<UnpackLayerResult>; calls: UnpackLayerRequest[] } {
  const calls: UnpackLayerRequest[] = [];
  return {
    calls,
    async unpack(options) {
      calls.push(options);
      const bytes = uncompressedTar(options.blobPath);
      const extract = tar.extract();
      const done = (async () => {
        for await (const entry of extract) {
          const path = join(options.destDir, normalize(entry.header.name));
          const chunks: Buffer[] = [];
          for await (const chunk of entry) chunks.push(chunk as Buffer);
          if (entry.header.type === 'directory') mkdirSync(path, { recursive: true });
          else {
            mkdirSync(dirname(path), { recursive: true });
            writeFileSync(path, Buffer.concat(chunks));
          }
        }
      })();
      extract.end(bytes);
      await done;
      const result = { diffId: sha256(bytes), size: bytes.length };
      if (options.expectDiffId !== undefined && options.expectDiffId !== result.diffId) {
        throw diffIdMismatch(options.blobPath, result.diffId, options.expectDiffId);
      }
      return result;
    },
  };
}

/** A temporary store root, removed by the returned cleanup. */
export function tempRoot(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'devenv-images-'));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * A service context over a temp root with the fakes. An unpack fake that resolves with nothing (a wrapper around
 * createFakeUnpack that drops its result) gets the diff_id of the blob's tar reported for it.
 */
export function testContext(root: string, registry: PullRegistry, unpack: (o: UnpackLayerRequest) => Promise<UnpackLayerResult | void>): ImageServiceContext {
  return {
    root,
    logger: createStderrLogger('error', () => {}),
    images: { registry, unpack: async (o) => (await unpack(o)) ?? fakeUnpackResult(o.blobPath), rootless: false },
  };
}

/** Write a container record that uses an image, as `container create IMAGE` will. */
export function writeContainerUsing(root: string, name: string, manifestDigest: string, chainIds: string[] = []): void {
  const id = createHash('sha256').update(name).digest('hex');
  const dir = join(root, 'containers', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'container.json'),
    JSON.stringify({ id, name, created: new Date().toISOString(), rootfs: 'x', command: ['sh'], image: { reference: 'x', manifestDigest, chainIds } }),
  );
}
