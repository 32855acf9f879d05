import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

import { DevenvError, isErrnoLike } from '../../errors.js';

/**
 * How cgroups are mounted on this machine.
 * - `v2`: the unified hierarchy only (cgroup2 at /sys/fs/cgroup).
 * - `v1`: legacy per-controller hierarchies only.
 * - `hybrid`: v1 controller hierarchies plus a cgroup2 mount (usually /sys/fs/cgroup/unified) holding few or no
 *   controllers. devenv treats hybrid as v1 for the controllers mounted as v1, as runc does.
 * - `none`: no cgroup filesystem mounted at all (some minimal containers): devenv runs without limits.
 */
export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'none';

/** The place cgroup filesystems are mounted on every mainstream distribution. */
export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';
export const DEFAULT_PROC_ROOT = '/proc';

/** One line of /proc/self/mountinfo (the fields devenv needs). */
export interface MountinfoEntry {
  /** Path inside the filesystem that is mounted (not `/` for bind mounts and in cgroup namespaces). */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string[];
}

/** A cgroup hierarchy as mounted. */
export interface CgroupHierarchy {
  version: 1 | 2;
  /** Where it is mounted, rebased onto `cgroupRoot` (so fake trees in tests work). */
  mountPoint: string;
  /** The cgroup path that `mountPoint` shows (`/` unless a bind mount or cgroup namespace hides the rest). */
  mountRoot: string;
  /** v1: the controllers bound to it (`["cpu","cpuacct"]`), `name=systemd` style named hierarchies as `name=…`. v2: empty. */
  controllers: string[];
}

/** The result of reading the mount table. */
export interface CgroupMounts {
  mode: CgroupMode;
  /** v1 hierarchies (also in hybrid mode). */
  v1: CgroupHierarchy[];
  /** The cgroup2 mount, if any. */
  v2: CgroupHierarchy | undefined;
}

// Super options of a v1 cgroup mount that are flags, not controllers.
const NON_CONTROLLER_OPTIONS = new Set(['rw', 'ro', 'noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode', 'favordynmods', 'none']);

function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Parse the text of /proc/<pid>/mountinfo. Malformed lines are skipped (the kernel never writes any). */
export function parseMountinfo(text: string): MountinfoEntry[] {
  const entries: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 3) continue;
    entries.push({
      root: unescapeMountField(fields[3] ?? ''),
      mountPoint: unescapeMountField(fields[4] ?? ''),
      fsType: fields[dash + 1] ?? '',
      source: unescapeMountField(fields[dash + 2] ?? ''),
      superOptions: (fields[dash + 3] ?? '').split(','),
    });
  }
  return entries;
}

/** Map a mount point under /sys/fs/cgroup onto `cgroupRoot`, so that tests can point devenv at a fake tree. */
export function rebaseMountPoint(mountPoint: string, cgroupRoot: string): string {
  if (cgroupRoot === DEFAULT_CGROUP_ROOT) return mountPoint;
  const rest = relative(DEFAULT_CGROUP_ROOT, mountPoint);
  if (rest === '') return cgroupRoot;
  if (rest.startsWith('..') || rest.startsWith(sep)) return mountPoint;
  return join(cgroupRoot, rest);
}

/** Classify the cgroup mounts of a parsed mount table. Pure. */
export function classifyCgroupMounts(entries: MountinfoEntry[], cgroupRoot: string = DEFAULT_CGROUP_ROOT): CgroupMounts {
  const v1: CgroupHierarchy[] = [];
  let v2: CgroupHierarchy | undefined;
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry.fsType === 'cgroup2') {
      // The first cgroup2 mount wins; later ones are bind mounts of the same hierarchy.
      v2 ??= { version: 2, mountPoint: rebaseMountPoint(entry.mountPoint, cgroupRoot), mountRoot: entry.root, controllers: [] };
    } else if (entry.fsType === 'cgroup') {
      const controllers = entry.superOptions.filter((o) => !NON_CONTROLLER_OPTIONS.has(o) && (!o.includes('=') || o.startsWith('name=')));
      const key = [...controllers].sort().join(',');
      if (controllers.length === 0 || seen.has(key)) continue;
      seen.add(key);
      v1.push({ version: 1, mountPoint: rebaseMountPoint(entry.mountPoint, cgroupRoot), mountRoot: entry.root, controllers });
    }
  }
  // Named-only v1 hierarchies (name=systemd on a v2 machine, for old software) carry no resource controllers.
  const hasV1Controllers = v1.some((h) => h.controllers.some((c) => !c.startsWith('name=')));
  const mode: CgroupMode = hasV1Controllers ? (v2 ? 'hybrid' : 'v1') : v2 ? 'v2' : 'none';
  return { mode, v1, v2 };
}

/** Read /proc/self/mountinfo under `procRoot` and classify the cgroup mounts. */
export function detectCgroupMounts(options: { procRoot?: string; cgroupRoot?: string } = {}): CgroupMounts {
  const file = join(options.procRoot ?? DEFAULT_PROC_ROOT, 'self', 'mountinfo');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DevenvError('CGROUP_UNAVAILABLE', `detect cgroup mode: cannot read \`${file}\`${isErrnoLike(error) ? `: ${error.code}` : ''}`, {
      kind: 'external',
      cause: error,
      hint: 'Is /proc mounted?',
    });
  }
  return classifyCgroupMounts(parseMountinfo(text), options.cgroupRoot ?? DEFAULT_CGROUP_ROOT);
}

/** Just the mode (v1, v2, hybrid or none) of this machine. */
export function detectCgroupMode(options: { procRoot?: string; cgroupRoot?: string } = {}): CgroupMode {
  return detectCgroupMounts(options).mode;
}

/** One line of /proc/self/cgroup: `hierarchy-id:controllers:path` (`0::/path` is the v2 line). */
export interface ProcCgroupEntry {
  hierarchyId: number;
  controllers: string[];
  path: string;
}

/** Parse /proc/<pid>/cgroup. Pure. */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const entries: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    entries.push({
      hierarchyId: Number(line.slice(0, first)),
      controllers: line.slice(first + 1, second) === '' ? [] : line.slice(first + 1, second).split(','),
      path: line.slice(second + 1),
    });
  }
  return entries;
}

/**
 * The directory of cgroup `cgroupPath` (as in /proc/self/cgroup) inside `hierarchy`, or undefined when the
 * mount does not show that part of the tree.
 */
export function cgroupPathToDirectory(hierarchy: CgroupHierarchy, cgroupPath: string): string | undefined {
  // In a cgroup namespace, cgroups outside it show as `/../…`: not reachable through this mount.
  if (!cgroupPath.startsWith('/') || cgroupPath.split('/').includes('..')) return undefined;
  const rest = relative(hierarchy.mountRoot, cgroupPath);
  if (rest.startsWith('..')) return undefined;
  return rest === '' ? hierarchy.mountPoint : join(hierarchy.mountPoint, rest);
}
