import { DevenvError } from '../../errors.js';
import type { Descriptor, Platform } from '../types.js';

/** The formats `devenv image export` writes and `devenv image import` reads. */
export type ArchiveFormat = 'oci-archive' | 'docker-archive' | 'oci-dir';
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['oci-archive', 'docker-archive', 'oci-dir'];

/** OCI image layout annotations (image-spec annotations.md) and containerd's full-name annotation. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/** Manifests and configs larger than this are refused (as registries and containerd do). */
export const MAX_METADATA_BYTES = 4 * 1024 * 1024;

/**
 * Where exported (or pushed) blobs come from. The image store provides one (`storeBlobSource`); tests use memory.
 */
export interface BlobSource {
  /** The blob's bytes, streamed. */
  readBlob(digest: string): AsyncIterable<Uint8Array>;
  /** Its size in bytes; throws when the blob is absent. */
  blobSize(digest: string): number;
}

/**
 * Where imported blobs go. `writeBlob` must store the body only if it is complete: the archive layer hands it a
 * body that throws DIGEST_MISMATCH (or ARCHIVE_INVALID) at its end when the content does not match `descriptor`.
 */
export interface BlobSink {
  hasBlob(digest: string): boolean;
  writeBlob(descriptor: Descriptor, body: AsyncIterable<Uint8Array>): Promise<void>;
}

/** One image as an archive names it, after import (its blobs are in the sink). */
export interface ImportedImage {
  /** Names given by the archive (`org.opencontainers.image.ref.name`, containerd's name, Docker RepoTags), as written. */
  names: string[];
  /** The image manifest (single platform). */
  manifest: Descriptor;
  configDigest: string;
  /** The index the manifest was chosen from, when the archive held a multi-platform index. */
  indexDigest?: string;
  platform?: Platform;
}

/** What `importImageArchive` did. */
export interface ImportArchiveResult {
  format: ArchiveFormat;
  images: ImportedImage[];
  /** Blobs written to the sink (those it had already are not counted). */
  blobsWritten: number;
  bytesWritten: number;
}

/** One image to export. */
export interface ExportImageInput {
  /** Normalised references (`docker.io/library/busybox:latest`) to name it by in the archive; may be empty. */
  names: string[];
  /** Its image manifest (mediaType, digest, size). */
  manifest: Descriptor;
}

/** What `exportImage` wrote. */
export interface ExportArchiveResult {
  format: ArchiveFormat;
  path: string;
  images: Array<{ names: string[]; manifestDigest: string }>;
  /** Bytes written (for the directory form, of the blobs and metadata files). */
  bytes: number;
}

/** The parts of an image manifest the archive code reads. */
export interface ManifestDocument {
  schemaVersion?: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** An OCI image index (index.json, or a nested index blob). */
export interface IndexDocument {
  schemaVersion?: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** `import \`FILE\`: …` — a malformed or hostile archive. */
export function archiveInvalid(where: string, what: string, hint?: string): DevenvError {
  return new DevenvError('ARCHIVE_INVALID', `${where}: ${what}`, {
    hint: hint ?? 'The archive is damaged or was not written by an OCI/Docker tool; create it again (`devenv image export`, `docker save`, `skopeo copy`).',
  });
}
