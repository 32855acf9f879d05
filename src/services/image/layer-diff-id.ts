import { DevenvError } from '../../errors.js';
import { layerCompression } from '../../image/registry/media-types.js';
import type { ImageLayer } from '../../image/store/image-store.js';
import { diffIdMismatch, type UnpackLayerResult } from '../../image/unpack/unpack-layer.js';

type Compression = 'gzip' | 'zstd' | 'none';

/** The compression a layer's media type names; REGISTRY_PROTOCOL when it is not a layer devenv can unpack. */
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

/**
 * Unpack a layer while checking its diff id. Why check it: layers are shared by chain id, which is computed from
 * the config's diff ids, so an image whose config lies about a layer could otherwise plant its content under the
 * chain id of another image's layer. The native unpacker decompresses the layer once and hashes the uncompressed
 * stream as it unpacks it: `unpack` gets the expected diff id to pass on (the unpacker then fails with
 * DIGEST_MISMATCH), and the diff id it reports is compared here too, so an unpacker that ignores the expectation
 * cannot skip the check. Uncompressed layers: the blob digest (already verified) must equal the diff id before
 * anything is unpacked. Either way a mismatch rejects with DIGEST_MISMATCH and the caller deletes the directory.
 */
export async function unpackVerified(layer: ImageLayer, unpack: (expectDiffId: string) => Promise<UnpackLayerResult>): Promise<UnpackLayerResult> {
  const digest = layer.descriptor.digest;
  if (layerCompressionOf(layer) === 'none' && digest !== layer.diffId) throw diffIdMismatch(digest, digest, layer.diffId);
  const result = await unpack(layer.diffId);
  if (result.diffId !== layer.diffId) throw diffIdMismatch(digest, result.diffId, layer.diffId);
  return result;
}
