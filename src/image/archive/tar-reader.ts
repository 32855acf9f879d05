import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import tar from 'tar-stream';

import { DevenvError } from '../../errors.js';
import type { ArchiveReader } from './archive-reader.js';
import { archiveInvalid, MAX_METADATA_BYTES } from './archive-types.js';
import { digestFromBlobPath, type LinkTable, normalizeArchivePath, resolveArchiveName, resolveSymlinkTarget } from './archive-paths.js';
import { bytesBody, collectBody, detectCompression, HEAD_BYTES } from './blob-streams.js';

/** How much of a tar the first pass keeps in memory (metadata files; small layers come along for free). */
export interface TarReaderOptions {
  /** Files up to this size are kept in memory by the first pass (default 1 MiB). */
  bufferFileBytes?: number;
  /** …up to this many bytes in all (default 64 MiB); later small files are read again when needed. */
  bufferTotalBytes?: number;
}

interface TarFile {
  size: number;
  head: Buffer;
  bytes?: Buffer;
  digest?: string;
}

type TarHeader = tar.Header;
type EntryHandler = (name: string, header: TarHeader, entry: AsyncIterable<Buffer>) => Promise<void>;

/**
 * A tar archive (optionally gzip-compressed as a whole, as `docker save | gzip` writes), read in passes. The first
 * pass (open) checks every entry name, records sizes, links and heads, keeps small files and hashes compressed
 * files that are not named by their digest (docker-archive layers). Later passes stream only what is asked for.
 */
export class TarArchiveReader implements ArchiveReader {
  private readonly files = new Map<string, TarFile>();
  private readonly table: LinkTable = { links: new Map(), files: new Set() };

  private constructor(
    private readonly path: string,
    readonly where: string,
    private readonly gzipped: boolean,
  ) {}

  static async open(path: string, where: string, options: TarReaderOptions = {}): Promise<TarArchiveReader> {
    const compression = detectCompression(readFileHead(path));
    if (compression !== 'none' && compression !== 'gzip') {
      throw new DevenvError('ARCHIVE_UNSUPPORTED', `${where}: the archive is ${compression}-compressed`, {
        hint: 'Decompress it first, or compress it with gzip.',
      });
    }
    const reader = new TarArchiveReader(path, where, compression === 'gzip');
    await reader.scan(options.bufferFileBytes ?? 1024 * 1024, options.bufferTotalBytes ?? 64 * 1024 * 1024);
    return reader;
  }

  resolve(name: string): string | undefined {
    return resolveArchiveName(this.table, name);
  }

  size(name: string): number {
    return this.file(name).size;
  }

  async head(name: string): Promise<Buffer> {
    return this.file(name).head;
  }

  async readFile(name: string, limit = MAX_METADATA_BYTES): Promise<Buffer> {
    const file = this.file(name);
    if (file.size > limit) throw archiveInvalid(this.where, `\`${name}\` is larger than ${limit} bytes`);
    if (file.bytes) return file.bytes;
    let found: Buffer | undefined;
    await this.pass(async (entryName, _header, entry) => {
      if (entryName === name) found = await collectBody(entry, limit, () => `${this.where}: \`${name}\``);
    });
    if (!found) throw this.changed(name);
    return found;
  }

  async digest(name: string): Promise<string> {
    const file = this.file(name);
    if (file.digest) return file.digest;
    if (file.bytes) return (file.digest = `sha256:${createHash('sha256').update(file.bytes).digest('hex')}`);
    await this.pass(async (entryName, _header, entry) => {
      if (entryName !== name) return;
      const hash = createHash('sha256');
      for await (const chunk of entry) hash.update(chunk);
      file.digest = `sha256:${hash.digest('hex')}`;
    });
    if (!file.digest) throw this.changed(name);
    return file.digest;
  }

  async stream(names: Iterable<string>, fn: (name: string, body: AsyncIterable<Uint8Array>) => Promise<void>): Promise<void> {
    const wanted = new Set<string>();
    for (const name of new Set(names)) {
      const bytes = this.file(name).bytes;
      if (bytes) await fn(name, bytesBody(bytes));
      else wanted.add(name);
    }
    if (wanted.size === 0) return;
    await this.pass(async (entryName, _header, entry) => {
      if (!wanted.delete(entryName)) return;
      await fn(entryName, entry);
    });
    const missing = [...wanted][0];
    if (missing !== undefined) throw this.changed(missing);
  }

  private file(name: string): TarFile {
    const file = this.files.get(name);
    if (!file) throw archiveInvalid(this.where, `\`${name}\` is not a file in the archive`);
    return file;
  }

  private changed(name: string): DevenvError {
    return archiveInvalid(this.where, `\`${name}\` was not found when reading the archive again (did it change during the import?)`);
  }

  private openStream(): Readable {
    const raw = createReadStream(this.path);
    if (!this.gzipped) return raw;
    const gunzip = createGunzip();
    raw.on('error', (error) => gunzip.destroy(error));
    return raw.pipe(gunzip);
  }

  /** Read the whole tar once, calling `handler` for each regular file (by normalised name). */
  private async pass(handler: EntryHandler, onOther?: (name: string, header: TarHeader) => void): Promise<void> {
    const source = this.openStream();
    const extract = tar.extract();
    source.on('error', (error) => extract.destroy(error));
    source.pipe(extract);
    try {
      for await (const entry of extract) {
        const header = entry.header;
        const name = normalizeArchivePath(header.name, this.where);
        if (name === '') {
          // the archive's root directory (`./`)
        } else if (header.type === 'file' || header.type === 'contiguous-file') await handler(name, header, entry as unknown as AsyncIterable<Buffer>);
        else onOther?.(name, header);
        for await (const _ of entry) {
          // drain what the handler did not read
        }
      }
    } catch (error) {
      if (error instanceof DevenvError) throw error;
      throw new DevenvError('ARCHIVE_INVALID', `${this.where}: not a tar archive, or a truncated or damaged one`, {
        hint: 'Check that the file is a complete image archive (`docker save`, `devenv image export`, `skopeo copy … oci-archive:`).',
        cause: error,
      });
    } finally {
      source.destroy();
      extract.destroy();
    }
  }

  private async scan(bufferFileBytes: number, bufferTotalBytes: number): Promise<void> {
    let buffered = 0;
    const seen = new Set<string>();
    const claim = (name: string): void => {
      if (seen.has(name)) throw archiveInvalid(this.where, `\`${name}\` appears twice in the archive`, 'Do not import this archive: an image tool writes each file once.');
      seen.add(name);
    };
    await this.pass(
      async (name, header, entry) => {
        claim(name);
        const size = header.size ?? 0;
        const keep = size <= bufferFileBytes && buffered + size <= bufferTotalBytes;
        if (keep) buffered += size;
        const named = digestFromBlobPath(name) !== undefined;
        const chunks: Buffer[] = [];
        let head = Buffer.alloc(0);
        let hash: Hash | undefined;
        for await (const chunk of entry) {
          if (head.length < HEAD_BYTES) {
            head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.length)]);
            if (head.length === HEAD_BYTES && !keep && !named && isCompressed(head)) {
              hash = createHash('sha256');
              for (const earlier of chunks) hash.update(earlier);
            }
          }
          hash?.update(chunk);
          if (keep || head.length < HEAD_BYTES) chunks.push(chunk);
          else chunks.length = 0;
        }
        const file: TarFile = { size, head };
        if (keep) file.bytes = Buffer.concat(chunks);
        if (hash) file.digest = `sha256:${hash.digest('hex')}`;
        else if (!keep && !named && isCompressed(head)) file.digest = `sha256:${createHash('sha256').update(Buffer.concat(chunks)).digest('hex')}`;
        this.files.set(name, file);
        this.table.files.add(name);
      },
      (name, header) => {
        if (name === '' || header.type === 'directory') return;
        if (header.type === 'symlink') {
          claim(name);
          this.table.links.set(name, resolveSymlinkTarget(name, header.linkname ?? '', this.where));
        } else if (header.type === 'link') {
          claim(name);
          this.table.links.set(name, normalizeArchivePath(header.linkname ?? '', this.where));
        }
        // devices, fifos, pax and GNU long-name records (tar-stream folds the latter in) are never image content
      },
    );
  }
}

function isCompressed(head: Buffer): boolean {
  const compression = detectCompression(head);
  return compression === 'gzip' || compression === 'zstd';
}

function readFileHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const n = readSync(fd, buffer, 0, HEAD_BYTES, 0);
    return buffer.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
