import { statSync } from 'node:fs';

import { DevenvError, isErrnoCode } from '../../errors.js';
import type { Platform } from '../types.js';
import { DirectoryArchiveReader, type ArchiveReader } from './archive-reader.js';
import { archiveInvalid, type BlobSink, type ImportArchiveResult } from './archive-types.js';
import { isDockerArchive, readDockerArchive } from './docker-archive.js';
import { transferPlan, type ImportPlan } from './import-plan.js';
import { isOciLayout, readOciLayout } from './oci-layout.js';
import { TarArchiveReader, type TarReaderOptions } from './tar-reader.js';

/** Options of importing an archive. */
export interface ImportArchiveOptions extends TarReaderOptions {
  /** The platform to pick from multi-platform indexes (default: the host's). */
  platform?: Platform;
}

/**
 * Open an archive and learn what it holds, without writing anything: an OCI layout directory (`oci-dir`), an
 * oci-archive or a docker-archive (a tar, optionally gzip-compressed), or an unpacked docker-archive directory.
 */
export async function planImageArchive(path: string, options: ImportArchiveOptions = {}): Promise<{ reader: ArchiveReader; plan: ImportPlan }> {
  const where = `import \`${path}\``;
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT') || isErrnoCode(error, 'ENOTDIR')) {
      throw new DevenvError('USAGE', `${where}: no such file or directory`, { hint: 'Name an image archive (`.tar`) or an OCI layout directory.' });
    }
    throw error;
  }
  const reader: ArchiveReader = isDirectory ? new DirectoryArchiveReader(path, where) : await TarArchiveReader.open(path, where, options);
  if (isOciLayout(reader)) return { reader, plan: await readOciLayout(reader, isDirectory ? 'oci-dir' : 'oci-archive', options) };
  if (isDockerArchive(reader)) return { reader, plan: await readDockerArchive(reader) };
  throw archiveInvalid(
    where,
    isDirectory ? 'the directory is not an OCI image layout (no `oci-layout`/`index.json`)' : 'the tar is neither an oci-archive (no `oci-layout`/`index.json`) nor a docker-archive (no `manifest.json`)',
    'Import an archive written by `devenv image export`, `docker save`, `podman save` or `skopeo copy`.',
  );
}

/**
 * Import the images of an archive: every blob they need is streamed into `sink`, verified against its digest
 * (layers never held in memory). Naming the images in a store is the caller's business (see ImportedImage.names).
 */
export async function importImageArchive(path: string, sink: BlobSink, options: ImportArchiveOptions = {}): Promise<ImportArchiveResult> {
  const { reader, plan } = await planImageArchive(path, options);
  const { blobsWritten, bytesWritten } = await transferPlan(reader, plan, sink);
  return { format: plan.format, images: plan.images, blobsWritten, bytesWritten };
}
