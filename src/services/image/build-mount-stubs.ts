import { lstatSync, readdirSync, readlinkSync, rmdirSync, unlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * A RUN container gets /etc/hosts, /etc/resolv.conf and /etc/hostname bind-mounted from its bundle
 * (docs/networking.md). When the image lacks one, the runtime creates an empty file (and missing parent
 * directories) in the container's upper dir to mount over; those stubs are not the step's work and must not end up
 * in the layer (Docker's RUN leaves none either). After the step, before the upper dir is diffed: each stub path that
 * is still an empty regular file in the upper dir and absent from the image's layers is removed, and so are the
 * directories created only to hold it (empty in the upper dir, absent from the layers). A symlink in the image
 * (`/etc/resolv.conf` → `../run/systemd/resolve/stub-resolv.conf`) is followed, as the runtime follows it.
 * Returns what was removed (relative paths, directories with a trailing slash).
 */
export function removeMountStubs(upperDir: string, lowerdirs: readonly string[], targets: readonly string[]): string[] {
  const removed: string[] = [];
  for (const target of targets) {
    const path = resolveInLayers(lowerdirs, target);
    if (path === undefined || lowerEntry(lowerdirs, path) !== undefined) continue;
    const stat = lstatOrUndefined(join(upperDir, path));
    if (!stat?.isFile() || stat.size !== 0) continue;
    try {
      unlinkSync(join(upperDir, path));
      removed.push(path);
      for (let dir = posix.dirname(path); dir !== '.' && dir !== '/'; dir = posix.dirname(dir)) {
        if (lowerEntry(lowerdirs, dir) !== undefined || !isEmptyDir(join(upperDir, dir))) break;
        rmdirSync(join(upperDir, dir));
        removed.push(`${dir}/`);
      }
    } catch {
      // not ours to remove (rootless: a directory of another mapped id): the layer keeps an empty file, no worse
    }
  }
  return removed;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function isEmptyDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory() && readdirSync(path).length === 0;
  } catch {
    return false;
  }
}

/** The top-most layer's entry at `rel` (layers top-most first); a whiteout (character device 0/0) hides it. */
function lowerEntry(lowerdirs: readonly string[], rel: string): { stat: Stats; dir: string } | undefined {
  for (const dir of lowerdirs) {
    const stat = lstatOrUndefined(join(dir, rel));
    if (stat === undefined) continue;
    if (stat.isCharacterDevice() && stat.rdev === 0) return undefined;
    return { stat, dir };
  }
  return undefined;
}

/**
 * `target` (absolute, in the container) with the image's symlinks followed inside its root: the relative path the
 * runtime creates its stub at. undefined when a component is not a directory or links loop.
 */
function resolveInLayers(lowerdirs: readonly string[], target: string): string | undefined {
  let todo = target.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  for (let links = 0; todo.length > 0; ) {
    const name = todo.shift() as string;
    if (name === '..') {
      done.pop();
      continue;
    }
    const entry = lowerEntry(lowerdirs, [...done, name].join('/'));
    if (entry?.stat.isSymbolicLink()) {
      if (++links > 40) return undefined;
      const link = readlinkSync(join(entry.dir, ...done, name));
      if (link.startsWith('/')) done.length = 0;
      todo = [...link.split('/').filter((p) => p !== '' && p !== '.'), ...todo];
      continue;
    }
    if (entry !== undefined && todo.length > 0 && !entry.stat.isDirectory()) return undefined;
    done.push(name);
  }
  return done.length > 0 ? done.join('/') : undefined;
}
