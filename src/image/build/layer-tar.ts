import type { Hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { closeSync, constants, fsyncSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * A small synchronous tar writer for image layers (ustar headers, pax records for long names and large values),
 * hashing what it writes: the digest of an uncompressed layer is both its blob digest and its diff_id. Builds write
 * one layer at a time, so blocking I/O is simpler and faster here than a stream pipeline.
 */

export type LayerEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One entry's header. `path` is relative to the layer root, without a leading `/`. */
export interface LayerEntryHeader {
  path: string;
  type: LayerEntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  size?: number;
  /** Symlink target, or the layer path a hard link points to. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const TYPE_FLAGS: Record<LayerEntryType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', directory: '5', fifo: '6' };
const ZERO = Buffer.alloc(1024);

function octal(buf: Buffer, offset: number, length: number, value: number): boolean {
  const text = Math.max(0, Math.floor(value)).toString(8);
  if (text.length > length - 1) return false;
  buf.write(text.padStart(length - 1, '0'), offset, 'ascii');
  buf[offset + length - 1] = 0;
  return true;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  for (;;) {
    const total = String(len).length + Buffer.byteLength(body);
    if (total === len) break;
    len = total;
  }
  return `${len}${body}`;
}

/** Split a long path into ustar's prefix (155) and name (100), or undefined when it does not fit. */
function splitUstar(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') return { prefix, name };
  }
  return undefined;
}

function encodeHeader(h: LayerEntryHeader, typeFlag: string, path: string, size: number, pax: Record<string, string>): Buffer {
  const buf = Buffer.alloc(512);
  const split = splitUstar(path);
  if (!split) pax.path = path;
  const { prefix, name } = split ?? { prefix: '', name: path.slice(0, 99) };
  buf.write(name, 0, 100, 'utf8');
  octal(buf, 100, 8, h.mode & 0o7777);
  if (!octal(buf, 108, 8, h.uid)) {
    pax.uid = String(h.uid);
    octal(buf, 108, 8, 0);
  }
  if (!octal(buf, 116, 8, h.gid)) {
    pax.gid = String(h.gid);
    octal(buf, 116, 8, 0);
  }
  if (!octal(buf, 124, 12, size)) {
    pax.size = String(size);
    octal(buf, 124, 12, 0);
  }
  octal(buf, 136, 12, h.mtime);
  buf.write(typeFlag, 156, 1, 'ascii');
  if (h.linkname !== undefined) {
    if (Buffer.byteLength(h.linkname) > 100) pax.linkpath = h.linkname;
    else buf.write(h.linkname, 157, 100, 'utf8');
  }
  buf.write('ustar\u000000', 257, 8, 'binary');
  octal(buf, 329, 8, h.devmajor ?? 0);
  octal(buf, 337, 8, h.devminor ?? 0);
  buf.write(prefix, 345, 155, 'utf8');
  return buf;
}

function checksum(buf: Buffer): void {
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of buf) sum += b;
  buf.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'binary');
}

/** Writes a layer tar to a file descriptor; `finish` returns its sha256 digest and size. */
export class LayerTarWriter {
  // node:crypto loads only when a layer is written (a fully cached build writes none)
  private readonly hash: Hash = (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).createHash('sha256');
  private size = 0;
  private readonly chunk = Buffer.allocUnsafe(1 << 20);
  entries = 0;

  constructor(private readonly fd: number) {}

  private write(buf: Buffer, length = buf.length): void {
    let off = 0;
    while (off < length) off += writeSync(this.fd, buf, off, length - off);
    this.hash.update(length === buf.length ? buf : buf.subarray(0, length));
    this.size += length;
  }

  private pad(size: number): void {
    const rest = size % 512;
    if (rest !== 0) this.write(ZERO, 512 - rest);
  }

  private header(h: LayerEntryHeader, size: number): void {
    const path = h.type === 'directory' && !h.path.endsWith('/') ? `${h.path}/` : h.path;
    const pax: Record<string, string> = {};
    const buf = encodeHeader(h, TYPE_FLAGS[h.type], path, size, pax);
    if (Object.keys(pax).length > 0) {
      const body = Buffer.from(Object.entries(pax).map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
      const ph = encodeHeader({ ...h, linkname: undefined, mode: 0o644 } as LayerEntryHeader, 'x', 'PaxHeaders/entry', body.length, {});
      checksum(ph);
      this.write(ph);
      this.write(body);
      this.pad(body.length);
    }
    checksum(buf);
    this.write(buf);
    this.entries++;
  }

  /** An entry without content (directory, symlink, hard link, device, fifo, whiteout). */
  add(h: LayerEntryHeader): void {
    this.header(h, 0);
  }

  /** A regular file with content from memory. */
  addBuffer(h: LayerEntryHeader, content: Buffer): void {
    this.header({ ...h, type: 'file' }, content.length);
    this.write(content);
    this.pad(content.length);
  }

  /** A regular file with content read from `sourceFd` (exactly `h.size` bytes; a file that changed size fails). */
  addFromFd(h: LayerEntryHeader & { size: number }, sourceFd: number, what: string): void {
    this.header({ ...h, type: 'file' }, h.size);
    let left = h.size;
    while (left > 0) {
      const n = readSync(sourceFd, this.chunk, 0, Math.min(this.chunk.length, left), null);
      if (n === 0) throw new Error(`${what} shrank while it was being read`);
      this.write(this.chunk, n);
      left -= n;
    }
    this.pad(h.size);
  }

  /** A regular file read from a host path (opened without following symlinks). */
  addFile(h: LayerEntryHeader & { size: number }, hostPath: string): void {
    const fd = openSync(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      this.addFromFd(h, fd, hostPath);
    } finally {
      closeSync(fd);
    }
  }

  /** Write the end-of-archive blocks, fsync; the digest (`sha256:…`) and size of the tar. */
  finish(): { digest: string; size: number } {
    this.write(ZERO);
    fsyncSync(this.fd);
    return { digest: `sha256:${this.hash.digest('hex')}`, size: this.size };
  }
}

/** Split a Linux dev_t (as fs.Stats.rdev gives it) into major and minor. */
export function splitDev(rdev: number): { major: number; minor: number } {
  const big = BigInt(rdev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}
