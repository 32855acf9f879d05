import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { join, posix } from 'node:path';

import { DevenvError } from '../../errors.js';
import { cleanContextPath, globToRegExp, hasGlob, type IgnoreMatcher } from '../../image/build/context-match.js';
import type { CopySpec } from '../../image/build/copy-spec.js';
import { LayerTarWriter, type LayerEntryHeader } from '../../image/build/layer-tar.js';
import { nativeXattrReader } from '../../image/build/native-xattrs.js';
import { sha256Hex } from '../../image/build/sha256.js';
import type { XattrReader } from '../../image/build/upper-diff.js';
import { readRootfsFile, resolveContainerUser } from '../../runtime/container-user.js';

/** Read access to a tree files are copied from: the build context, or a stage's/image's layers (merged). */
export interface SourceTree {
  /** What to call it in errors: `the build context`, `stage builder`. */
  describe: string;
  lstat(rel: string): Stats | undefined;
  readdir(rel: string): string[];
  /** The host path holding `rel`'s content. */
  hostPath(rel: string): string;
  /** The context only: `.dockerignore` excludes `rel` (a directory walked only for `!` exceptions below it). */
  isIgnored?(rel: string): boolean;
}

function tryLstat(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** The build context directory with `.dockerignore` applied. */
export function contextTree(root: string, ignore: IgnoreMatcher): SourceTree {
  return {
    describe: 'the build context',
    lstat: (rel) => (rel !== '' && ignore.isIgnored(rel) && !ignore.hasExceptions ? undefined : tryLstat(join(root, rel))),
    readdir(rel) {
      return readdirSync(join(root, rel))
        .filter((n) => {
          const child = rel === '' ? n : `${rel}/${n}`;
          if (!ignore.isIgnored(child)) return true;
          // an ignored directory is still walked when a `!` rule may re-include something below it
          return ignore.hasExceptions && (tryLstat(join(root, child))?.isDirectory() ?? false);
        })
        .sort();
    },
    hostPath: (rel) => join(root, rel),
    isIgnored: (rel) => rel !== '' && ignore.isIgnored(rel),
  };
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Opaque markers the unpacker sets on directories of `.wh..wh..opq` (trusted.* as root, user.* rootless). */
const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque'];

/**
 * The merged view of unpacked layers (top-most first), as overlayfs would show it: a whiteout or a non-directory
 * hides the same path (and everything under it) in lower layers, and an opaque directory hides the lower layers'
 * directories of its path. `xattrs` reads the opaque markers (the native addon by default).
 */
export function layersTree(lowerdirs: readonly string[], describe: string, xattrs?: XattrReader): SourceTree {
  let reader = xattrs;
  const isOpaque = (path: string, rel: string): boolean => {
    reader ??= nativeXattrReader();
    const r = reader;
    try {
      const names = r.list(path);
      return OPAQUE_XATTRS.some((n) => names.includes(n) && r.get(path, n) === 'y');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES') throw unreadable(describe, rel, error);
      throw error;
    }
  };
  const lstatIn = (dir: string, rel: string): Stats | undefined => {
    try {
      return tryLstat(join(dir, rel));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES') throw unreadable(describe, rel, error);
      throw error;
    }
  };
  // The layers whose directory `rel` takes part in the merged directory, top-most first (cached per directory).
  const dirLayers = new Map<string, readonly string[]>();
  const layersOf = (rel: string): readonly string[] => {
    const known = dirLayers.get(rel);
    if (known) return known;
    const slash = rel.lastIndexOf('/');
    const parent = rel === '' ? lowerdirs : layersOf(slash === -1 ? '' : rel.slice(0, slash));
    const out: string[] = [];
    for (const dir of parent) {
      const st = lstatIn(dir, rel);
      if (!st) continue;
      if (!st.isDirectory()) break; // a file, a symlink or a whiteout hides the directory below
      out.push(dir);
      if (isOpaque(join(dir, rel), rel)) break;
    }
    dirLayers.set(rel, out);
    return out;
  };
  const find = (rel: string): { dir: string; st: Stats } | undefined => {
    if (rel === '') {
      const dir = lowerdirs[0];
      const st = dir === undefined ? undefined : lstatIn(dir, '');
      return dir !== undefined && st ? { dir, st } : undefined;
    }
    const slash = rel.lastIndexOf('/');
    for (const dir of layersOf(slash === -1 ? '' : rel.slice(0, slash))) {
      const st = lstatIn(dir, rel);
      if (st) return isWhiteout(st) ? undefined : { dir, st };
    }
    return undefined;
  };
  return {
    describe,
    lstat: (rel) => find(rel)?.st,
    readdir(rel) {
      const seen = new Map<string, boolean>();
      for (const dir of layersOf(rel)) {
        let names: string[];
        try {
          names = readdirSync(join(dir, rel));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EACCES') throw unreadable(describe, rel, error);
          continue;
        }
        for (const n of names) if (!seen.has(n)) seen.set(n, !isWhiteout(lstatSync(join(dir, rel, n))));
      }
      return [...seen.entries()].filter(([, visible]) => visible).map(([n]) => n).sort();
    },
    hostPath: (rel) => join(find(rel)?.dir ?? lowerdirs[0] ?? '/', rel),
  };
}

function unreadable(describe: string, rel: string, cause: unknown): DevenvError {
  return new DevenvError('BUILD_STEP_FAILED', `cannot read /${rel} in ${describe}: permission denied`, {
    hint: 'Rootless builds read copied files as the invoking user: make them world-readable in the stage that creates them.',
    cause,
  });
}

/** Expand one source (glob or path) against a tree: the matching relative paths. */
export function expandSource(tree: SourceTree, source: string): string[] {
  const clean = cleanContextPath(source);
  if (!hasGlob(clean)) return tree.lstat(clean) || clean === '' ? [clean] : [];
  let current = [''];
  for (const part of clean.split('/')) {
    const next: string[] = [];
    for (const base of current) {
      if (!hasGlob(part)) {
        const p = base === '' ? part : `${base}/${part}`;
        if (tree.lstat(p)) next.push(p);
        continue;
      }
      const st = tree.lstat(base);
      if (base !== '' && !st?.isDirectory()) continue;
      const re = globToRegExp(part);
      for (const name of tree.readdir(base)) if (re.test(name)) next.push(base === '' ? name : `${base}/${name}`);
    }
    current = next;
  }
  return current;
}

/** One entry the COPY will write, before ownership and --chmod are applied. */
interface PlannedEntry {
  /** Path in the image, without the leading `/`. */
  target: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  mtime: number;
  size: number;
  hostPath?: string;
  linkname?: string;
  /** ADD of an archive: the entries come from the archive. */
  archive?: { hostPath: string };
}

function isOutside(source: string): boolean {
  const n = posix.normalize(source.startsWith('/') ? source.slice(1) : source);
  return n === '..' || n.startsWith('../');
}

async function isTarArchive(hostPath: string, size: number): Promise<'tar' | 'tar.gz' | 'unsupported' | undefined> {
  if (size < 512 && size > 0) return undefined;
  const fd = openSync(hostPath, 'r');
  const head = Buffer.alloc(512);
  try {
    const { readSync } = await import('node:fs');
    readSync(fd, head, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  if ((head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) || (head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a)) return 'unsupported';
  return undefined;
}

/** Which files a COPY/ADD takes, and the hash of their content, modes and names (its cache key part). */
export interface CopyPlan {
  entries: PlannedEntry[];
  contentHash: string;
}

/**
 * Resolve a COPY/ADD's sources against the tree (globs, directories copied by their content, Docker's rules for
 * the destination) and hash what will be copied. Throws BUILD_DOCKERFILE-worthy DevenvErrors without the line
 * (the caller adds it).
 */
export async function planCopy(
  spec: CopySpec,
  tree: SourceTree,
  destIsDirInStage: (path: string) => boolean,
  fileDigest: (hostPath: string, st: Stats) => string = readDigest,
): Promise<CopyPlan> {
  const entries: PlannedEntry[] = [];
  const destRel = spec.dest.replace(/^\/+/, '');
  const matchedAll: string[] = [];
  for (const source of spec.sources) {
    if (/^[a-z]+:\/\//i.test(source) || source.startsWith('git@')) {
      throw new DevenvError('BUILD_DOCKERFILE', `${spec.keyword} ${source}: remote sources are not supported by devenv build`, {
        hint: 'Download the file in a RUN step (curl/wget), or put it in the build context.',
      });
    }
    if (spec.from === undefined && isOutside(source)) {
      throw new DevenvError('BUILD_DOCKERFILE', `${spec.keyword} ${source}: the path is outside the build context`, {
        hint: 'Sources must be inside the context directory; move the file there or choose a larger context.',
      });
    }
    const matched = expandSource(tree, source);
    if (matched.length === 0) {
      throw new DevenvError('BUILD_DOCKERFILE', `${spec.keyword} ${source}: no such file or directory in ${tree.describe}`, {
        hint: spec.from === undefined ? 'Check the path, and that .dockerignore does not exclude it.' : undefined,
      });
    }
    matchedAll.push(...matched);
  }
  const multiple = matchedAll.length > 1 || spec.sources.some(hasGlob);
  for (const rel of matchedAll) {
    const st = tree.lstat(rel) as Stats;
    if (st.isDirectory()) {
      // a directory's content goes into the destination
      entries.push({ target: destRel, type: 'directory', mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000), size: 0 });
      walk(tree, rel, destRel, entries);
      continue;
    }
    const intoDir = spec.destIsDir || multiple || destIsDirInStage(spec.dest);
    const target = intoDir ? posix.join(destRel, posix.basename(rel)) : destRel;
    entries.push(entryOf(tree, rel, target, st));
  }
  if (spec.keyword === 'ADD' && spec.from === undefined) {
    for (const e of entries) {
      if (e.type !== 'file' || !e.hostPath) continue;
      const kind = await isTarArchive(e.hostPath, e.size);
      if (kind === 'unsupported') {
        throw new DevenvError('BUILD_DOCKERFILE', `ADD ${e.hostPath}: bzip2 and xz archives are not supported`, { hint: 'Use a .tar or .tar.gz archive.' });
      }
      if (kind) {
        e.archive = { hostPath: e.hostPath };
        e.target = destRel; // an archive is extracted into the destination directory
      }
    }
  }
  // one line per entry, a file's content by its sha256 (remembered across builds by the caller's fileDigest)
  const lines: string[] = ['copy-v2'];
  for (const e of entries) {
    const content = e.type === 'file' && e.hostPath ? fileDigest(e.hostPath, lstatSync(e.hostPath)) : '';
    lines.push(`${e.target}\0${e.type}\0${e.mode}\0${e.size}\0${e.linkname ?? ''}\0${e.archive ? 'archive' : ''}\0${content}`);
  }
  return { entries, contentHash: sha256Hex(lines.join('\n')) };
}

/** A file's sha256 read in full (no cache). */
function readDigest(hostPath: string): string {
  const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return crypto.createHash('sha256').update(readFileSync(hostPath)).digest('hex');
}

function entryOf(tree: SourceTree, rel: string, target: string, st: Stats): PlannedEntry {
  const base = { target, mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000) };
  if (st.isSymbolicLink()) return { ...base, type: 'symlink', size: 0, linkname: readlinkSync(tree.hostPath(rel)) };
  if (st.isDirectory()) return { ...base, type: 'directory', size: 0 };
  if (!st.isFile()) throw new DevenvError('BUILD_DOCKERFILE', `cannot copy /${rel} from ${tree.describe}: not a file, directory or symlink`);
  return { ...base, type: 'file', size: st.size, hostPath: tree.hostPath(rel) };
}

function walk(tree: SourceTree, rel: string, target: string, out: PlannedEntry[]): void {
  for (const name of tree.readdir(rel)) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const st = tree.lstat(childRel);
    if (!st) continue;
    const childTarget = target === '' ? name : `${target}/${name}`;
    if (st.isDirectory() && tree.isIgnored?.(childRel)) {
      // an ignored directory appears only when a `!` exception re-includes something below it
      const below: PlannedEntry[] = [];
      walk(tree, childRel, childTarget, below);
      if (below.length > 0) out.push(entryOf(tree, childRel, childTarget, st), ...below);
      continue;
    }
    out.push(entryOf(tree, childRel, childTarget, st));
    if (st.isDirectory()) walk(tree, childRel, childTarget, out);
  }
}

/** `--chown` resolved against the stage's /etc/passwd and /etc/group (a bare user keeps its uid as the gid, as Docker). */
export function resolveChown(chown: string | undefined, lowerdirs: string[]): { uid: number; gid: number } {
  if (chown === undefined) return { uid: 0, gid: 0 };
  const files = { passwd: readRootfsFile(lowerdirs, 'etc/passwd'), group: readRootfsFile(lowerdirs, 'etc/group') };
  const user = resolveContainerUser(chown, files);
  return { uid: user.uid, gid: chown.includes(':') ? user.gid : /^\d+$/.test(chown) ? user.uid : user.gid };
}

/** An existing directory's metadata, ids as the container sees them. */
export interface StageDir {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

/** The stage a layer is written onto. */
export interface StageLookup {
  /** Whether `/path` exists (any type). */
  exists(path: string): boolean;
  /** The directory at `rel` (no leading `/`), or undefined when it is missing or not a directory. */
  dir(rel: string): StageDir | undefined;
}

/**
 * The directory entry for `dir` in a new layer: an existing directory is written again with its own metadata (the
 * way an overlay copy-up keeps it), because a layer that only holds files below it would get it created 0755 when
 * unpacked, and that upper copy would hide the real mode (a 1777 /tmp turning 0755). Undefined when `dir` exists
 * as something else (left alone).
 */
export function parentDirEntry(stage: StageLookup, dir: string, fresh: Omit<LayerEntryHeader, 'path' | 'type'>): LayerEntryHeader | undefined {
  const existing = stage.dir(dir);
  if (existing) return { path: dir, type: 'directory', ...existing };
  if (stage.exists(`/${dir}`)) return undefined;
  return { path: dir, type: 'directory', ...fresh };
}

/**
 * Write the planned entries as a layer: the parent directories of the destination (missing ones 0755 and owned as
 * --chown, existing ones as they are), then the entries with --chown/--chmod applied; archives of ADD are
 * extracted below their destination.
 */
export async function writeCopyLayer(plan: CopyPlan, spec: CopySpec, owner: { uid: number; gid: number }, stage: StageLookup, writer: LayerTarWriter): Promise<void> {
  const made = new Set<string>();
  const now = Math.floor(Date.now() / 1000);
  const ensureParents = (target: string): void => {
    const parts = target.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (made.has(dir)) continue;
      made.add(dir);
      const entry = parentDirEntry(stage, dir, { mode: 0o755, uid: owner.uid, gid: owner.gid, mtime: now });
      if (entry) writer.add(entry);
    }
  };
  const destRel = spec.dest.replace(/^\/+/, '');
  for (const e of plan.entries) {
    if (e.target === '') continue;
    ensureParents(e.target);
    if (e.type === 'directory') {
      if (made.has(e.target)) continue;
      // an existing destination directory keeps its owner and mode
      if (e.target === destRel && stage.exists(spec.dest)) {
        made.add(e.target);
        const existing = stage.dir(e.target);
        if (existing) writer.add({ path: e.target, type: 'directory', ...existing });
        continue;
      }
      made.add(e.target);
      writer.add({ path: e.target, type: 'directory', mode: spec.chmod ?? e.mode, uid: owner.uid, gid: owner.gid, mtime: e.mtime });
      continue;
    }
    if (e.archive) {
      await extractArchive(e.archive.hostPath, e.target, spec.chown !== undefined ? owner : undefined, writer, ensureParents, made, stage);
      continue;
    }
    const header: LayerEntryHeader = { path: e.target, type: e.type, mode: spec.chmod ?? e.mode, uid: owner.uid, gid: owner.gid, mtime: e.mtime };
    if (e.type === 'symlink') writer.add({ ...header, linkname: e.linkname as string });
    else writer.addFile({ ...header, size: e.size }, e.hostPath as string);
  }
}

async function extractArchive(
  hostPath: string,
  destRel: string,
  chownOwner: { uid: number; gid: number } | undefined,
  writer: LayerTarWriter,
  ensureParents: (target: string) => void,
  made: Set<string>,
  stage: StageLookup,
): Promise<void> {
  let bytes = readFileSync(hostPath);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = (await import('node:zlib')).gunzipSync(bytes);
  const { default: tar } = await import('tar-stream');
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        try {
          const name = cleanContextPath(header.name);
          if (name !== '') {
            const target = destRel === '' ? name : `${destRel}/${name}`;
            ensureParents(target);
            const owner = chownOwner ?? { uid: header.uid ?? 0, gid: header.gid ?? 0 };
            const h = { path: target, mode: header.mode ?? 0o644, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0, mtime: Math.floor((header.mtime?.getTime() ?? 0) / 1000) };
            if (header.type === 'directory') {
              if (!made.has(target)) {
                // the existing destination keeps its owner and mode
                const existing = target === destRel && stage.exists(`/${target}`) ? stage.dir(target) : undefined;
                if (existing) writer.add({ path: target, type: 'directory', ...existing });
                else if (!(target === destRel && stage.exists(`/${target}`))) writer.add({ ...h, type: 'directory' });
              }
              made.add(target);
            } else if (header.type === 'symlink') {
              writer.add({ ...h, type: 'symlink', linkname: header.linkname ?? '' });
            } else if (header.type === 'link') {
              const linkTarget = cleanContextPath(header.linkname ?? '');
              writer.add({ ...h, type: 'hardlink', linkname: destRel === '' ? linkTarget : `${destRel}/${linkTarget}` });
            } else if (header.type === 'file' || header.type === 'contiguous-file') {
              writer.addBuffer({ ...h, type: 'file' }, Buffer.concat(chunks));
            }
          }
          next();
        } catch (error) {
          reject(error);
        }
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(bytes);
  await done;
}
