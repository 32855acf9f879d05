import { createHash } from 'node:crypto';

import { DevenvError } from '../../errors.js';
import type { Descriptor } from '../types.js';
import { archiveInvalid } from './archive-types.js';

/** `sha256:<hex>` of some bytes. */
export function sha256Of(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A body of one chunk (for blobs held in memory: manifests, configs). */
export async function* bytesBody(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/**
 * Pass `body` through, hashing it; at its end (before reporting the end) throw if size or digest differ from
 * `descriptor`, so a sink that stores only complete bodies never stores wrong content.
 */
export async function* verifiedBody(descriptor: Descriptor, body: AsyncIterable<Uint8Array>, where: string): AsyncIterable<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > descriptor.size) {
      throw archiveInvalid(where, `blob ${descriptor.digest} is larger than the ${descriptor.size} bytes its descriptor names`);
    }
    hash.update(chunk);
    yield chunk;
  }
  if (size !== descriptor.size) {
    throw archiveInvalid(where, `blob ${descriptor.digest} has ${size} bytes, its descriptor names ${descriptor.size}`);
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== descriptor.digest) {
    throw new DevenvError('DIGEST_MISMATCH', `${where}: blob ${descriptor.digest} has content with digest ${actual}`, {
      hint: 'The archive is damaged or was tampered with; create it again.',
    });
  }
}

/** Read a whole (small) body into memory, refusing more than `limit` bytes. */
export async function collectBody(body: AsyncIterable<Uint8Array>, limit: number, what: () => string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw archiveInvalid(what(), `larger than ${limit} bytes`);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  }
  return Buffer.concat(chunks, size);
}

/** How a layer (or an archive file) is compressed, from its first bytes. */
export type Compression = 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'none';

export function detectCompression(head: Uint8Array): Compression {
  const b = (i: number): number | undefined => head[i];
  if (b(0) === 0x1f && b(1) === 0x8b) return 'gzip';
  if (b(0) === 0x28 && b(1) === 0xb5 && b(2) === 0x2f && b(3) === 0xfd) return 'zstd';
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return 'bzip2';
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58 && b(4) === 0x5a && b(5) === 0x00) return 'xz';
  return 'none';
}

/** Bytes of the head kept per archive entry: enough for every magic number above. */
export const HEAD_BYTES = 8;

/** Parse JSON from an archive; ARCHIVE_INVALID naming the file when it is not JSON. */
export function parseArchiveJson(bytes: Buffer, where: string, file: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw new DevenvError('ARCHIVE_INVALID', `${where}: \`${file}\` is not valid JSON`, {
      hint: 'The archive is damaged or was not written by an OCI/Docker tool.',
      cause: error,
    });
  }
}
