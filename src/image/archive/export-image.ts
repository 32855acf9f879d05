import { DevenvError } from '../../errors.js';
import type { ArchiveFormat, BlobSource, ExportArchiveResult, ExportImageInput } from './archive-types.js';
import { DirectoryArchiveWriter, TarArchiveWriter, type ArchiveWriter } from './archive-writer.js';
import { writeDockerArchive } from './docker-archive.js';
import { loadExportContent, type ExportContent } from './export-content.js';
import { writeOciArchive } from './oci-archive.js';
import { writeOciLayout } from './oci-layout.js';

async function writeWith(writer: ArchiveWriter, write: (w: ArchiveWriter) => Promise<void>): Promise<number> {
  try {
    await write(writer);
    return await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * Export images from `source` to `path` as an oci-archive (tar), a docker-archive (tar) or an OCI layout
 * directory. Blobs are streamed and checked against their digests; the output appears only when complete.
 */
export async function exportImage(source: BlobSource, images: ExportImageInput[], format: ArchiveFormat, path: string): Promise<ExportArchiveResult> {
  if (images.length === 0) throw new DevenvError('USAGE', 'export: no image given');
  const contents: ExportContent[] = await loadExportContent(source, images);
  let bytes: number;
  switch (format) {
    case 'oci-archive':
      bytes = await writeOciArchive(path, source, contents);
      break;
    case 'docker-archive':
      bytes = await writeWith(new TarArchiveWriter(path), (w) => writeDockerArchive(w, source, contents));
      break;
    case 'oci-dir':
      bytes = await writeWith(new DirectoryArchiveWriter(path), (w) => writeOciLayout(w, source, contents));
      break;
    default:
      throw new DevenvError('USAGE', `export: unknown format \`${String(format)}\``, { hint: 'Use oci-archive, docker-archive or oci-dir.' });
  }
  return { format, path, images: images.map((i) => ({ names: i.names, manifestDigest: i.manifest.digest })), bytes };
}
