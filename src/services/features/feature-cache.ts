/**
 * The persistent Feature cache under the store: `<root>/features/content/<sha256 hex>/` holds a Feature's files,
 * keyed by its digest (OCI manifest digest, or the sha256 of a .tgz), and `<root>/features/refs/<hash>.json`
 * remembers what a tag or URL resolved to last, so a second `up` works without network. Entries are written to a
 * temporary folder and renamed into place: readers see a whole Feature or none, and two `up` at once are harmless.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import { DevenvError, isErrnoCode } from '../../errors.js';
import { writeJsonAtomic } from '../../host/atomic-file.js';
import { randomHex } from '../../host/random-id.js';

/** The cache's folders. */
export interface FeatureCachePaths {
  root: string;
  content: string;
  refs: string;
  builds: string;
}

export function featureCachePaths(storeRoot: string): FeatureCachePaths {
  const root = join(storeRoot, 'features');
  return { root, content: join(root, 'content'), refs: join(root, 'refs'), builds: join(root, 'builds') };
}

function hexOf(digest: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new DevenvError('INTERNAL', `feature cache: \`${digest}\` is not a sha256 digest`, { kind: 'bug' });
  return digest.slice('sha256:'.length);
}

/** The cached folder of a digest, or undefined when it is not cached. */
export function cachedFeatureDir(paths: FeatureCachePaths, digest: string): string | undefined {
  const dir = join(paths.content, hexOf(digest));
  return existsSync(join(dir, 'devcontainer-feature.json')) ? dir : undefined;
}

/** What a tag or URL resolved to when it was last fetched. */
export interface CachedRef {
  reference: string;
  digest: string;
}

function refFile(paths: FeatureCachePaths, reference: string): string {
  return join(paths.refs, `${createHash('sha256').update(reference).digest('hex')}.json`);
}

export function readCachedRef(paths: FeatureCachePaths, reference: string): CachedRef | undefined {
  try {
    const value = JSON.parse(readFileSync(refFile(paths, reference), 'utf8')) as CachedRef;
    return value.reference === reference && typeof value.digest === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

export function writeCachedRef(paths: FeatureCachePaths, reference: string, digest: string): void {
  mkdirSync(paths.refs, { recursive: true });
  writeJsonAtomic(refFile(paths, reference), { reference, digest });
}

/** Safe relative path of a tar entry, or undefined for the root itself; throws on absolute or `..` paths. */
function entryPath(name: string, where: string): string | undefined {
  const normal = posix.normalize(name.replace(/^(\.\/)+/, ''));
  if (normal === '.' || normal === '' || normal === './') return undefined;
  if (normal.startsWith('/') || normal === '..' || normal.startsWith('../')) {
    throw new DevenvError('FEATURE_INVALID', `${where}: the archive has an entry outside its folder (\`${name}\`)`, { kind: 'external' });
  }
  return normal.replace(/\/$/, '');
}

/**
 * Unpack a tar (gzip-compressed when `gzip`) into `dest`: regular files and folders with their modes; symlinks
 * last (so no entry is ever written through one); hard links, devices and the like are ignored.
 */
export async function extractTar(bytes: Buffer, dest: string, where: string, gzip: boolean): Promise<void> {
  const { extract } = await import('tar-stream');
  const ex = extract();
  const links: { path: string; target: string }[] = [];
  mkdirSync(dest, { recursive: true });
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        try {
          const rel = entryPath(header.name, where);
          if (rel !== undefined) {
            const target = join(dest, rel);
            if (header.type === 'directory') mkdirSync(target, { recursive: true, mode: 0o755 });
            else if (header.type === 'file' || header.type === 'contiguous-file') {
              mkdirSync(dirname(target), { recursive: true });
              writeFileSync(target, Buffer.concat(chunks), { mode: (header.mode ?? 0o644) & 0o777 });
            } else if (header.type === 'symlink' && header.linkname) links.push({ path: target, target: header.linkname });
          }
          next();
        } catch (error) {
          reject(error);
        }
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolve);
    ex.on('error', (error: Error) =>
      reject(new DevenvError('FEATURE_INVALID', `${where}: the archive is not a valid tar (${error.message})`, { kind: 'external', cause: error })),
    );
  });
  const source = Readable.from([bytes]);
  if (gzip) {
    const gunzip = createGunzip();
    gunzip.on('error', (error) => ex.destroy(error));
    source.pipe(gunzip).pipe(ex);
  } else source.pipe(ex);
  await done;
  for (const link of links) {
    if (!existsSync(link.path)) {
      mkdirSync(dirname(link.path), { recursive: true });
      symlinkSync(link.target, link.path);
    }
  }
}

/**
 * Put a Feature's files into the cache under `digest`: `fill(tmp)` writes them into a private folder that is then
 * renamed into place. Returns the entry's folder. Checks that devcontainer-feature.json is there.
 */
export async function storeFeature(paths: FeatureCachePaths, digest: string, where: string, fill: (dir: string) => Promise<void>): Promise<string> {
  const final = join(paths.content, hexOf(digest));
  const existing = cachedFeatureDir(paths, digest);
  if (existing) return existing;
  mkdirSync(paths.content, { recursive: true });
  const tmp = join(paths.content, `.tmp-${randomHex(8)}`);
  try {
    await fill(tmp);
    if (!existsSync(join(tmp, 'devcontainer-feature.json'))) {
      throw new DevenvError('FEATURE_INVALID', `${where}: the Feature has no devcontainer-feature.json at its root`, { kind: 'external' });
    }
    if (!existsSync(join(tmp, 'install.sh'))) {
      throw new DevenvError('FEATURE_INVALID', `${where}: the Feature has no install.sh at its root`, { kind: 'external' });
    }
    rmSync(final, { recursive: true, force: true }); // a leftover without devcontainer-feature.json
    try {
      renameSync(tmp, final);
    } catch (error) {
      // another `up` stored it first
      if (!(isErrnoCode(error, 'ENOTEMPTY') || isErrnoCode(error, 'EEXIST')) || !cachedFeatureDir(paths, digest)) throw error;
    }
    return final;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * A digest of a folder's content (local Features): every file's relative path, executable bit and bytes, and
 * every symlink's target, in path order. Independent of where the folder is and of timestamps or owners.
 */
export function hashFeatureFolder(dir: string): string {
  const hash = createHash('sha256');
  const walk = (rel: string): void => {
    const names = readdirSync(join(dir, rel)).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = join(dir, path);
      const stat = lstatSync(full);
      if (stat.isDirectory()) walk(path);
      else if (stat.isSymbolicLink()) hash.update(`L ${path}\0${readlinkSync(full)}\0`);
      else if (stat.isFile()) {
        const content = readFileSync(full);
        hash.update(`F ${path}\0${stat.mode & 0o111 ? 'x' : '-'}\0${content.length}\0`);
        hash.update(content);
      }
    }
  };
  walk('');
  return `sha256:${hash.digest('hex')}`;
}
