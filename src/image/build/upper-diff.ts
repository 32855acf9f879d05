import { closeSync, lstatSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

import { LayerTarWriter, splitDev, type LayerEntryHeader } from './layer-tar.js';

/** Reads an extended attribute without following symlinks; undefined when absent or unsupported. */
export type XattrReader = (path: string, name: string) => string | undefined;

/** How the overlay marked an opaque directory: `trusted.overlay.opaque` (root), `user.overlay.opaque` (rootless). */
const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque'];
const WHITEOUT_XATTRS = ['trusted.overlay.whiteout', 'user.overlay.whiteout'];

/**
 * Write the changes an overlay upper directory holds as an OCI layer tar: new and changed files as they are,
 * whiteouts (character devices 0/0, or files marked `*.overlay.whiteout`) as `.wh.<name>` entries, opaque
 * directories with a `.wh..wh..opq` entry (only when `readXattr` can see the marker). Ownership is written as
 * stat reports it: run it where the ids look as the container saw them (as root: directly; rootless: in a user
 * namespace with the container's mappings, see upper-diff-main.ts). Symlinks are never followed.
 */
export function writeUpperDiff(upperDir: string, writer: LayerTarWriter, readXattr?: XattrReader): void {
  const links = new Map<string, string>();
  const walk = (dir: string, rel: string): void => {
    const names = readdirSync(dir).sort();
    for (const name of names) {
      const path = join(dir, name);
      const layerPath = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(path);
      const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
      const whiteoutPath = rel === '' ? `.wh.${name}` : `${rel}/.wh.${name}`;
      if (st.isCharacterDevice() && st.rdev === 0) {
        writer.add({ ...base, path: whiteoutPath, type: 'file', mode: 0o644 });
        continue;
      }
      if (st.isFile() && st.size === 0 && readXattr && WHITEOUT_XATTRS.some((x) => readXattr(path, x) !== undefined)) {
        writer.add({ ...base, path: whiteoutPath, type: 'file', mode: 0o644 });
        continue;
      }
      if (st.isDirectory()) {
        writer.add({ ...base, path: layerPath, type: 'directory' });
        if (readXattr && OPAQUE_XATTRS.some((x) => readXattr(path, x) === 'y')) {
          writer.add({ ...base, path: `${layerPath}/.wh..wh..opq`, type: 'file', mode: 0o644 });
        }
        walk(path, layerPath);
        continue;
      }
      if (st.isSymbolicLink()) {
        writer.add({ ...base, path: layerPath, type: 'symlink', linkname: readlinkSync(path) });
        continue;
      }
      if (st.isFile()) {
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          const first = links.get(key);
          if (first !== undefined) {
            writer.add({ ...base, path: layerPath, type: 'hardlink', linkname: first });
            continue;
          }
          links.set(key, layerPath);
        }
        writer.addFile({ ...base, path: layerPath, type: 'file', size: st.size }, path);
        continue;
      }
      const dev = splitDev(st.rdev);
      const header: LayerEntryHeader | undefined = st.isCharacterDevice()
        ? { ...base, path: layerPath, type: 'char', devmajor: dev.major, devminor: dev.minor }
        : st.isBlockDevice()
          ? { ...base, path: layerPath, type: 'block', devmajor: dev.major, devminor: dev.minor }
          : st.isFIFO()
            ? { ...base, path: layerPath, type: 'fifo' }
            : undefined; // sockets are never layer content
      if (header) writer.add(header);
    }
  };
  walk(upperDir, '');
}

/** Write the upper dir's diff to `outFile` (created, mode 0600); its digest, size and entry count. */
export function writeUpperDiffFile(upperDir: string, outFile: string, readXattr?: XattrReader): { digest: string; size: number; entries: number } {
  const fd = openSync(outFile, 'wx', 0o600);
  try {
    const writer = new LayerTarWriter(fd);
    writeUpperDiff(upperDir, writer, readXattr);
    const entries = writer.entries;
    return { ...writer.finish(), entries };
  } finally {
    closeSync(fd);
  }
}
