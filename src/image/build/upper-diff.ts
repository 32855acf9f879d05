import { closeSync, lstatSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

import { LayerTarWriter, splitDev, type LayerEntryHeader } from './layer-tar.js';

/** Extended attributes of upper-dir entries, never following symlinks (native/src/xattr.c through the addon). */
export interface XattrReader {
  /** The attribute names of `path`. */
  list(path: string): string[];
  /** The value of `name` (latin1), or undefined when absent. */
  get(path: string, name: string): string | undefined;
}

/**
 * How the overlay marks an opaque directory: `trusted.overlay.opaque` (root mounts), `user.overlay.opaque` (rootless
 * mounts with `userxattr`, native/src/mounts.c), `user.fuseoverlayfs.opaque` (the fuse-overlayfs fallback). The value
 * `y` means opaque; `x` (kernel 6.7+) only says the directory may hold xattr whiteouts.
 */
const OPAQUE_XATTRS = new Set(['trusted.overlay.opaque', 'user.overlay.opaque', 'user.fuseoverlayfs.opaque']);
/** Xattr whiteouts: an empty regular file so marked hides the lower entry of its name. */
const WHITEOUT_XATTRS = new Set(['trusted.overlay.whiteout', 'user.overlay.whiteout']);
/** A renamed lower directory (redirect_dir=on) keeps its content in the lower layer: its diff cannot be a layer. */
const REDIRECT_XATTRS = new Set(['trusted.overlay.redirect', 'user.overlay.redirect']);

function isOpaque(path: string, xattrs: XattrReader): boolean {
  const names = xattrs.list(path);
  const redirect = names.find((n) => REDIRECT_XATTRS.has(n));
  if (redirect !== undefined) {
    throw new Error(`${path} is a renamed directory (${redirect}); the overlay must be mounted with redirect_dir=off for its changes to form a layer`);
  }
  return names.some((n) => OPAQUE_XATTRS.has(n) && xattrs.get(path, n) === 'y');
}

function isXattrWhiteout(path: string, xattrs: XattrReader): boolean {
  return xattrs.list(path).some((n) => WHITEOUT_XATTRS.has(n));
}

/**
 * Write the changes an overlay upper directory holds as an OCI layer tar: new and changed files as they are,
 * whiteouts (character devices 0/0, or files marked `*.overlay.whiteout`) as `.wh.<name>` entries, opaque
 * directories with a `.wh..wh..opq` entry right after the directory's own, so lower layers' files under it are hidden
 * (needs `xattrs`; without it opaque markers and xattr whiteouts are not seen). Ownership is written as
 * stat reports it: run it where the ids look as the container saw them (as root: directly; rootless: in a user
 * namespace with the container's mappings, see upper-diff-main.ts). Symlinks are never followed.
 */
export function writeUpperDiff(upperDir: string, writer: LayerTarWriter, xattrs?: XattrReader): void {
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
      if (st.isFile() && st.size === 0 && xattrs && isXattrWhiteout(path, xattrs)) {
        writer.add({ ...base, path: whiteoutPath, type: 'file', mode: 0o644 });
        continue;
      }
      if (st.isDirectory()) {
        writer.add({ ...base, path: layerPath, type: 'directory' });
        if (xattrs && isOpaque(path, xattrs)) {
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
export function writeUpperDiffFile(upperDir: string, outFile: string, xattrs?: XattrReader): { digest: string; size: number; entries: number } {
  const fd = openSync(outFile, 'wx', 0o600);
  try {
    const writer = new LayerTarWriter(fd);
    writeUpperDiff(upperDir, writer, xattrs);
    const entries = writer.entries;
    return { ...writer.finish(), entries };
  } finally {
    closeSync(fd);
  }
}
