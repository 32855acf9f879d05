import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';

import { DevenvError } from '../../errors.js';
import { layerCompression } from '../../image/registry/media-types.js';
import type { ImageLayer } from '../../image/store/image-store.js';

type Compression = 'gzip' | 'zstd' | 'none';

function decompressor(compression: Compression): Transform | undefined {
  if (compression === 'gzip') return zlib.createGunzip();
  // zstd is in node:zlib from Node 22.15/23.8; on older Nodes the diff id of a zstd layer is not checked here.
  const zstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  return compression === 'zstd' && zstd ? zstd() : undefined;
}

/** sha256 of a compressed blob's decompressed stream; undefined when this Node cannot decompress it. */
export async function hashDecompressed(blobPath: string, compression: Compression): Promise<string | undefined> {
  if (compression === 'none') return undefined;
  const inflate = decompressor(compression);
  if (!inflate) return undefined;
  const hash = createHash('sha256');
  await pipeline(createReadStream(blobPath), inflate, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) hash.update(chunk);
  });
  return `sha256:${hash.digest('hex')}`;
}

export function layerCompressionOf(layer: ImageLayer): Compression {
  const mediaType = layer.descriptor.mediaType;
  // Docker's uncompressed `…rootfs.diff.tar` is accepted too, as the unpacker does.
  const compression = layerCompression(mediaType) ?? (mediaType === 'application/vnd.docker.image.rootfs.diff.tar' ? 'none' : undefined);
  if (compression === undefined) {
    throw new DevenvError('REGISTRY_PROTOCOL', `layer ${layer.descriptor.digest} has media type \`${layer.descriptor.mediaType}\`, which is not a layer`, {
      kind: 'external',
      hint: 'This is not a container image devenv can run.',
    });
  }
  return compression;
}

function diffMismatch(layer: ImageLayer, actual: string): DevenvError {
  return new DevenvError('DIGEST_MISMATCH', `layer ${layer.descriptor.digest}: its uncompressed content has digest ${actual}, the image config says ${layer.diffId}`, {
    kind: 'external',
    hint: 'The image is inconsistent (its config names other content than its manifest); it cannot be used safely.',
  });
}

/**
 * Unpack a layer while checking its diff id. Why check it: layers are shared by chain id, which is computed from
 * the config's diff ids, so an image whose config lies about a layer could otherwise plant its content under the
 * chain id of another image's layer. Uncompressed layers: the blob digest (already verified) must equal the diff
 * id. gzip (and zstd where Node has it): hash the decompressed stream alongside the unpacker, which reads the
 * same file, so the wall time is about that of the slower of the two. Returns whether the diff id was verified.
 */
export async function unpackVerified(layer: ImageLayer, blobPath: string, unpack: () => Promise<void>): Promise<boolean> {
  const compression = layerCompressionOf(layer);
  if (compression === 'none') {
    if (layer.descriptor.digest !== layer.diffId) throw diffMismatch(layer, layer.descriptor.digest);
    await unpack();
    return true;
  }
  const [unpacked, hashed] = await Promise.allSettled([unpack(), hashDecompressed(blobPath, compression)]);
  if (unpacked.status === 'rejected') throw unpacked.reason;
  if (hashed.status === 'rejected') {
    throw new DevenvError('DIGEST_MISMATCH', `layer ${layer.descriptor.digest}: it does not decompress as ${compression}`, {
      kind: 'external',
      cause: hashed.reason,
    });
  }
  if (hashed.value !== undefined && hashed.value !== layer.diffId) throw diffMismatch(layer, hashed.value);
  return hashed.value !== undefined;
}
