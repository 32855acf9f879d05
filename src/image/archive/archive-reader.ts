import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, realpathSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

import { isErrnoCode } from '../../errors.js';
import { archiveInvalid, MAX_METADATA_BYTES } from './archive-types.js';
import { collectBody, HEAD_BYTES } from './blob-streams.js';

/**
 * Read access to the files of an archive (a tar or a directory), by archive-relative names that went through
 * normalizeArchivePath. Tar archives are read sequentially; the interface is shaped so that importing a tar takes
 * one pass to learn its layout and one more to stream the layers, never holding a layer in memory.
 */
export interface ArchiveReader {
  /** Prefix of error messages: ``import `busybox.tar` ``. */
  readonly where: string;
  /** The regular file `name` is or links to (its canonical name); undefined when there is none. */
  resolve(name: string): string | undefined;
  /** Size in bytes of a regular file (canonical name). */
  size(name: string): number;
  /** Its first bytes (up to HEAD_BYTES), for compression detection. */
  head(name: string): Promise<Buffer>;
  /** The whole content of a small file; ARCHIVE_INVALID past `limit` (default MAX_METADATA_BYTES). */
  readFile(name: string, limit?: number): Promise<Buffer>;
  /** `sha256:<hex>` of a file's content. */
  digest(name: string): Promise<string>;
  /** Stream files (canonical names) to `fn`, each once, in the order cheapest for the reader. */
  stream(names: Iterable<string>, fn: (name: string, body: AsyncIterable<Uint8Array>) => Promise<void>): Promise<void>;
}

/** An unpacked archive or an OCI layout directory. Names that resolve (through symlinks) outside it are refused. */
export class DirectoryArchiveReader implements ArchiveReader {
  private readonly realRoot: string;

  constructor(
    private readonly dir: string,
    readonly where: string,
  ) {
    this.realRoot = realpathSync(dir);
  }

  resolve(name: string): string | undefined {
    let real: string;
    try {
      real = realpathSync(join(this.dir, name));
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT') || isErrnoCode(error, 'ENOTDIR') || isErrnoCode(error, 'ELOOP')) return undefined;
      throw error;
    }
    if (!real.startsWith(this.realRoot + sep)) {
      throw archiveInvalid(this.where, `\`${name}\` is a link to \`${real}\`, outside the directory`, 'Do not import this directory: it links to files outside itself.');
    }
    if (!lstatSync(real).isFile()) return undefined;
    return relative(this.realRoot, real).split(sep).join('/');
  }

  size(name: string): number {
    return lstatSync(join(this.realRoot, name)).size;
  }

  async head(name: string): Promise<Buffer> {
    const handle = await open(join(this.realRoot, name), 'r');
    try {
      const buffer = Buffer.alloc(HEAD_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async readFile(name: string, limit = MAX_METADATA_BYTES): Promise<Buffer> {
    return collectBody(createReadStream(join(this.realRoot, name)), limit, () => `${this.where}: \`${name}\``);
  }

  async digest(name: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(join(this.realRoot, name))) hash.update(chunk as Buffer);
    return `sha256:${hash.digest('hex')}`;
  }

  async stream(names: Iterable<string>, fn: (name: string, body: AsyncIterable<Uint8Array>) => Promise<void>): Promise<void> {
    for (const name of new Set(names)) {
      const body = createReadStream(join(this.realRoot, name));
      try {
        await fn(name, body);
      } finally {
        body.destroy();
      }
    }
  }
}
