import type { BlobSource } from './archive-types.js';
import { TarArchiveWriter } from './archive-writer.js';
import type { ExportContent } from './export-content.js';
import type { ImportPlan } from './import-plan.js';
import { readOciLayout, writeOciLayout, type ReadLayoutOptions } from './oci-layout.js';
import { TarArchiveReader, type TarReaderOptions } from './tar-reader.js';

/*
 * oci-archive: an OCI image layout in a tar (what `skopeo copy … oci-archive:FILE` and `podman save --format
 * oci-archive` write). Read in streaming passes (TarArchiveReader: one to learn the layout, one to stream the
 * layers), written streaming (TarArchiveWriter). Layers are never held in memory.
 */

/** Open an oci-archive and plan its import. */
export async function readOciArchive(
  path: string,
  where: string,
  options: ReadLayoutOptions & TarReaderOptions = {},
): Promise<{ reader: TarArchiveReader; plan: ImportPlan }> {
  const reader = await TarArchiveReader.open(path, where, options);
  return { reader, plan: await readOciLayout(reader, 'oci-archive', options) };
}

/** Write images as an oci-archive at `path` (atomically: a temporary file renamed into place). Returns its size. */
export async function writeOciArchive(path: string, source: BlobSource, contents: ExportContent[]): Promise<number> {
  const writer = new TarArchiveWriter(path);
  try {
    await writeOciLayout(writer, source, contents);
    return await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
