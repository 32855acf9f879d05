import { once } from 'node:events';
import { createWriteStream, type WriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import tar from 'tar-stream';

import { DevenvError } from '../../errors.js';

type TarHeader = Partial<tar.Header> & Pick<tar.Header, 'name'>;

/**
 * Writes the files of an archive (a tar or a directory). Everything goes to a temporary name next to the output and
 * is renamed into place by `finish`, so a failed export leaves no half-written archive behind.
 */
export interface ArchiveWriter {
  addDirectory(name: string): Promise<void>;
  addFile(name: string, bytes: Buffer): Promise<void>;
  /** Write `size` bytes from `body` (it must yield exactly that many). */
  addStream(name: string, size: number, body: AsyncIterable<Uint8Array>): Promise<void>;
  /** Complete the archive and move it into place; returns the bytes written. */
  finish(): Promise<number>;
  /** Remove what was written. */
  abort(): Promise<void>;
}

/** Fixed tar metadata, so the same image always exports to the same bytes. */
const ARCHIVE_MTIME = new Date(0);

let tmpCounter = 0;
function temporaryName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${(tmpCounter += 1)}`);
}

/** A tar file written with tar-stream, streamed: entries go to disk as they are produced. */
export class TarArchiveWriter implements ArchiveWriter {
  private readonly pack = tar.pack();
  private readonly tmp: string;
  private readonly done: Promise<void>;
  private readonly out: WriteStream;
  private bytes = 0;

  constructor(private readonly path: string) {
    this.tmp = temporaryName(path);
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.bytes += chunk.length;
        callback(null, chunk);
      },
    });
    this.out = createWriteStream(this.tmp, { mode: 0o644 });
    this.done = pipeline(this.pack, counter, this.out);
    this.done.catch(() => undefined); // observed by finish/addStream; never an unhandled rejection
  }

  async addDirectory(name: string): Promise<void> {
    await this.entry({ name: `${name}/`, type: 'directory', mode: 0o755 }, Buffer.alloc(0));
  }

  async addFile(name: string, bytes: Buffer): Promise<void> {
    await this.entry({ name, type: 'file', mode: 0o644, size: bytes.length }, bytes);
  }

  async addStream(name: string, size: number, body: AsyncIterable<Uint8Array>): Promise<void> {
    let settle: (error?: Error | null) => void = () => undefined;
    const finished = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    finished.catch(() => undefined);
    const sink = this.pack.entry(this.header({ name, type: 'file', mode: 0o644, size }), (error) => settle(error as Error | null));
    sink.on('error', () => undefined); // reported through `finished` and `done`
    try {
      for await (const chunk of body) {
        if (!sink.write(chunk)) await Promise.race([once(sink, 'drain'), this.done, finished]);
      }
      sink.end(undefined);
      await Promise.race([finished, this.done.then(() => finished)]);
    } catch (error) {
      sink.destroy(error as Error);
      throw error;
    }
  }

  async finish(): Promise<number> {
    this.pack.finalize();
    await this.done;
    renameSync(this.tmp, this.path);
    return this.bytes;
  }

  async abort(): Promise<void> {
    this.pack.destroy();
    await this.done.catch(() => undefined);
    // the file's open(2) may still be under way: remove it only once the stream is closed, or it reappears
    if (!this.out.closed) await once(this.out, 'close').catch(() => undefined);
    rmSync(this.tmp, { force: true });
  }

  private header(h: TarHeader): TarHeader {
    return { uid: 0, gid: 0, uname: '', gname: '', mtime: ARCHIVE_MTIME, ...h };
  }

  private entry(h: TarHeader, bytes: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pack.entry(this.header(h), bytes, (error) => (error ? reject(error) : resolve()));
    });
  }
}

/** A directory tree (an OCI image layout). The output must not exist or be an empty directory. */
export class DirectoryArchiveWriter implements ArchiveWriter {
  private readonly tmp: string;
  private bytes = 0;

  constructor(private readonly path: string) {
    if (existsSync(path) && (!statSync(path).isDirectory() || readdirSync(path).length > 0)) {
      throw new DevenvError('USAGE', `export to \`${path}\`: it exists and is not an empty directory`, {
        hint: 'Name a new directory, or remove this one first.',
      });
    }
    this.tmp = temporaryName(path);
    mkdirSync(this.tmp, { mode: 0o755 });
  }

  async addDirectory(name: string): Promise<void> {
    mkdirSync(join(this.tmp, name), { recursive: true, mode: 0o755 });
  }

  async addFile(name: string, bytes: Buffer): Promise<void> {
    await this.addStream(name, bytes.length, (async function* () {
      yield bytes;
    })());
  }

  async addStream(name: string, size: number, body: AsyncIterable<Uint8Array>): Promise<void> {
    const handle = await open(join(this.tmp, name), 'wx', 0o644);
    let written = 0;
    try {
      for await (const chunk of body) {
        await handle.write(chunk);
        written += chunk.length;
      }
      if (written !== size) throw new Error(`${name}: ${written} bytes written, ${size} expected`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.bytes += written;
  }

  async finish(): Promise<number> {
    // rename(2) replaces an empty directory, which is all the constructor allows at `path`
    renameSync(this.tmp, this.path);
    return this.bytes;
  }

  async abort(): Promise<void> {
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
