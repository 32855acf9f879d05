/** Media types of OCI and Docker schema-2 images, and what devenv does with them. */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** Schema 1 (signed or not): recognised only to be refused with a clear message. */
export const DOCKER_MANIFEST_V1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_MANIFEST_V1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
export const OCI_LAYER_NONDISTRIBUTABLE = 'application/vnd.oci.image.layer.nondistributable.v1.tar';
export const OCI_LAYER_NONDISTRIBUTABLE_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
export const OCI_LAYER_NONDISTRIBUTABLE_ZSTD = 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const DOCKER_FOREIGN_LAYER_GZIP = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';

/** The `Accept` header for manifest requests: OCI manifest and index, Docker schema-2 manifest and manifest list. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST].join(', ');

/** An index (OCI image index or Docker manifest list): a list of per-platform manifests. */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/** A single-platform image manifest (OCI or Docker schema 2). */
export function isImageManifestMediaType(mediaType: string): boolean {
  return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}

export function isSchema1MediaType(mediaType: string): boolean {
  return mediaType === DOCKER_MANIFEST_V1 || mediaType === DOCKER_MANIFEST_V1_SIGNED;
}

/** How a layer blob is compressed, for the unpacker's `--compression`; undefined for a media type that is not a layer. */
export function layerCompression(mediaType: string): 'gzip' | 'zstd' | 'none' | undefined {
  switch (mediaType) {
    case OCI_LAYER_GZIP:
    case OCI_LAYER_NONDISTRIBUTABLE_GZIP:
    case DOCKER_LAYER_GZIP:
    case DOCKER_FOREIGN_LAYER_GZIP:
      return 'gzip';
    case OCI_LAYER_ZSTD:
    case OCI_LAYER_NONDISTRIBUTABLE_ZSTD:
      return 'zstd';
    case OCI_LAYER:
    case OCI_LAYER_NONDISTRIBUTABLE:
      return 'none';
    default:
      return undefined;
  }
}

/** The media type without parameters (`application/json; charset=utf-8` → `application/json`), lower-cased. */
export function stripMediaTypeParameters(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}
