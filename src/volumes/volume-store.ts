import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { isErrnoCode } from '../errors.js';
import { writeJsonAtomic } from '../host/atomic-file.js';
import { randomHex } from '../host/random-id.js';
import { bundleDir, containersDir } from '../runtime/container-store.js';
import { volumeNotFound } from './volume-errors.js';
import { checkVolumeName } from './volume-name.js';

/** devenv's record of a volume (`volumes/<name>/volume.json`), written once when the volume is made. */
export interface VolumeRecord {
  name: string;
  created: string;
  labels: Record<string, string>;
  /** Made for a `--mount type=volume` without a source (or `-v /path`): named by 64 random hex digits. */
  anonymous: boolean;
  /** Anonymous volumes: the container they were made for. */
  container?: string;
  /** Anonymous volumes of a `--rm` container: removed with it, as Docker does. */
  removeWithContainer?: boolean;
}

export interface EnsureVolumeOptions {
  labels?: Record<string, string>;
  anonymous?: boolean;
  container?: string;
  removeWithContainer?: boolean;
}

/** Removes a directory tree (rootless, files of sub-ids need the runtime's remove-tree). */
export type RemoveTree = (dir: string) => void;

/** Leftovers of an interrupted create are this old before anyone else removes them. */
const STALE_MS = 60_000;

export function volumesDir(root: string): string {
  return join(root, 'volumes');
}

export function volumeDir(root: string, name: string): string {
  return join(volumesDir(root), name);
}

/** What containers mount: `volumes/<name>/_data`. */
export function volumeDataDir(root: string, name: string): string {
  return join(volumeDir(root, name), '_data');
}

function parseRecord(name: string, text: string): VolumeRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<VolumeRecord>;
    if (typeof v !== 'object' || v === null || typeof v.created !== 'string') return undefined;
    return {
      name,
      created: v.created,
      labels: typeof v.labels === 'object' && v.labels !== null ? v.labels : {},
      anonymous: v.anonymous === true,
      ...(typeof v.container === 'string' ? { container: v.container } : {}),
      ...(v.removeWithContainer === true ? { removeWithContainer: true } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The volume's record, or undefined when there is no such volume. A volume whose record is unreadable still
 * exists (its data matters more than its labels): it reads as a named volume made when its directory was. */
export function readVolume(root: string, name: string): VolumeRecord | undefined {
  const dir = volumeDir(root, name);
  let text: string | undefined;
  try {
    text = readFileSync(join(dir, 'volume.json'), 'utf8');
  } catch (error) {
    if (!isErrnoCode(error, 'ENOENT')) throw error;
  }
  const parsed = text === undefined ? undefined : parseRecord(name, text);
  if (parsed) return parsed;
  try {
    const st = statSync(join(dir, '_data'));
    return st.isDirectory() ? { name, created: st.mtime.toISOString(), labels: {}, anonymous: false } : undefined;
  } catch {
    return undefined;
  }
}

export function requireVolume(root: string, name: string): VolumeRecord {
  const volume = readVolume(root, name);
  if (!volume) throw volumeNotFound(name);
  return volume;
}

/** Every volume of the store, by name (entries starting with `.` are ours: temp dirs, the lock). */
export function listVolumeRecords(root: string): VolumeRecord[] {
  let names: string[];
  try {
    names = readdirSync(volumesDir(root));
  } catch {
    return [];
  }
  const out: VolumeRecord[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const volume = readVolume(root, name);
    if (volume) out.push(volume);
  }
  return out;
}

/**
 * The volume `name`, made on first use. The directory appears complete (record and empty `_data`) or not at
 * all: it is built under a temp name and renamed into place, so of two commands making the same volume at once
 * one makes it and both use it. `_data` is a plain directory of the invoking user, mode 0755: as root that is
 * root; rootless it is the user, which is root in a container (its default mapping) and the user's own id under
 * `--userns keep-id` (which maps the user to itself), the container user either way.
 */
export function ensureVolume(root: string, name: string, options: EnsureVolumeOptions = {}): { volume: VolumeRecord; created: boolean } {
  checkVolumeName(name);
  const existing = readVolume(root, name);
  if (existing) return { volume: existing, created: false };
  const dir = volumesDir(root);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const volume: VolumeRecord = {
    name,
    created: new Date().toISOString(),
    labels: options.labels ?? {},
    anonymous: options.anonymous === true,
    ...(options.container !== undefined ? { container: options.container } : {}),
    ...(options.removeWithContainer === true ? { removeWithContainer: true } : {}),
  };
  const tmp = join(dir, `.tmp-${randomHex(8)}`);
  mkdirSync(tmp, { mode: 0o700 });
  try {
    const data = join(tmp, '_data');
    mkdirSync(data);
    chmodSync(data, 0o755); // not the umask's choice: containers see this mode at the mount point
    // Anonymous volumes of --rm containers are scratch space: their record need not survive a power loss.
    writeJsonAtomic(join(tmp, 'volume.json'), volume, { durable: options.removeWithContainer !== true });
    try {
      renameSync(tmp, volumeDir(root, name));
    } catch (error) {
      // Someone else made it first: theirs is the volume (rename(2) never replaces a non-empty directory).
      if (!isErrnoCode(error, 'ENOTEMPTY') && !isErrnoCode(error, 'EEXIST')) throw error;
      rmSync(tmp, { recursive: true, force: true });
      return { volume: requireVolume(root, name), created: false };
    }
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  return { volume, created: true };
}

/**
 * Remove a volume: renamed aside first, so the name is free (and the volume gone for every reader) at once;
 * then `removeTree` deletes the files. A failed deletion leaves a `.rm-*` directory that `removeVolumeLeftovers`
 * retries. Returns false when there was no such volume.
 */
export function removeVolume(root: string, name: string, removeTree: RemoveTree): boolean {
  const aside = join(volumesDir(root), `.rm-${randomHex(8)}`);
  try {
    renameSync(volumeDir(root, name), aside);
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return false;
    throw error;
  }
  removeTree(aside);
  return true;
}

/** Half-made volumes of a killed create (older than a minute) and volumes whose removal failed part way. */
export function removeVolumeLeftovers(root: string, removeTree: RemoveTree): string[] {
  let names: string[];
  try {
    names = readdirSync(volumesDir(root));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const path = join(volumesDir(root), name);
    try {
      if (name.startsWith('.rm-')) removeTree(path);
      else if (name.startsWith('.tmp-') && Date.now() - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
      else continue;
      removed.push(path);
    } catch {
      // someone else is removing it, or cannot yet: the next command retries
    }
  }
  return removed;
}

/** Is there a bundle (complete or being written) for container `id`? */
export function isContainerPresent(root: string, id: string): boolean {
  return existsSync(bundleDir(root, id)) || existsSync(join(containersDir(root), `.tmp-${id}`));
}
