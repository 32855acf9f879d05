import { describe, expect, it } from 'vitest';

import {
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  isImageManifestMediaType,
  isIndexMediaType,
  layerCompression,
  MANIFEST_ACCEPT,
  OCI_INDEX,
  OCI_LAYER,
  OCI_LAYER_ZSTD,
  OCI_MANIFEST,
  stripMediaTypeParameters,
} from '../../../../src/image/registry/media-types.js';

describe('media types', () => {
  it('accepts OCI and Docker schema-2 manifests and indexes', () => {
    for (const type of [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST]) expect(MANIFEST_ACCEPT).toContain(type);
    expect(isIndexMediaType(DOCKER_MANIFEST_LIST) && isIndexMediaType(OCI_INDEX)).toBe(true);
    expect(isImageManifestMediaType(DOCKER_MANIFEST) && isImageManifestMediaType(OCI_MANIFEST)).toBe(true);
    expect(isIndexMediaType(OCI_MANIFEST)).toBe(false);
  });
  it('knows layer compression', () => {
    expect(layerCompression(DOCKER_LAYER_GZIP)).toBe('gzip');
    expect(layerCompression(OCI_LAYER_ZSTD)).toBe('zstd');
    expect(layerCompression(OCI_LAYER)).toBe('none');
    expect(layerCompression(OCI_MANIFEST)).toBeUndefined();
  });
  it('strips parameters', () => {
    expect(stripMediaTypeParameters('Application/JSON; charset=utf-8')).toBe('application/json');
  });
});
