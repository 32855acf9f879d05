import { accessSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { DevenvError, isErrnoCode, isErrnoLike } from '../../errors.js';
import type { CgroupEntry, CgroupLimits, CgroupSetup, CgroupController } from './cgroup-manager.js';

const CONTAINER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** A container id must be one plain path segment: it becomes a directory name under devenv's parent. */
export function assertCgroupName(id: string): void {
  if (!CONTAINER_ID_PATTERN.test(id) || id === '.' || id === '..') {
    throw new DevenvError('INTERNAL', `cgroup name \`${id}\` is not a valid container id`, { kind: 'bug' });
  }
}

function errnoCode(error: unknown): string {
  return isErrnoLike(error) ? error.code : 'error';
}

/** Write one control file; failures become CGROUP_WRITE naming the value and the file. */
export async function writeCgroupFile(directory: string, file: string, value: string): Promise<void> {
  const path = join(directory, file);
  try {
    writeFileSync(path, value);
  } catch (error) {
    const code = errnoCode(error);
    const hint =
      code === 'EBUSY' && file === 'cgroup.subtree_control'
        ? 'cgroup v2 does not allow enabling controllers in a cgroup that holds processes itself; set DEVENV_CGROUP_PARENT to an empty subtree.'
        : code === 'EACCES' || code === 'EPERM'
          ? 'Run `devenv doctor` to see which cgroup controllers are usable for you.'
          : undefined;
    throw new DevenvError('CGROUP_WRITE', `write \`${value}\` to \`${path}\`: ${code}`, {
      kind: 'external',
      cause: error,
      ...(hint ? { hint } : {}),
    });
  }
}

/** Make one cgroup directory. Returns false when it already existed. */
export async function makeCgroupDirectory(path: string): Promise<boolean> {
  try {
    mkdirSync(path);
    return true;
  } catch (error) {
    if (isErrnoCode(error, 'EEXIST')) return false;
    throw new DevenvError('CGROUP_WRITE', `create cgroup \`${path}\`: ${errnoCode(error)}`, {
      kind: 'external',
      cause: error,
      hint: 'Run `devenv doctor` to see which cgroup controllers are usable for you.',
    });
  }
}

/**
 * Make the cgroup of a container. One left behind by an earlier run of the same container (its monitor was
 * killed) is under devenv's own parent and named by our id, so it is ours: replaced when empty, refused while it
 * still holds processes. Returns the path, always newly made by this call.
 */
export async function makeFreshContainerCgroup(path: string): Promise<string> {
  if (await makeCgroupDirectory(path)) return path;
  const pids = await listCgroupProcesses([path]);
  if (pids.length > 0) {
    throw new DevenvError('CGROUP_WRITE', `create cgroup \`${path}\`: it already exists and holds processes ${pids.join(', ')}`, {
      kind: 'external',
      hint: 'Another run of this container is still alive; stop it first.',
    });
  }
  await removeCgroupDirectory(path);
  if (await makeCgroupDirectory(path)) return path;
  throw new DevenvError('CGROUP_WRITE', `create cgroup \`${path}\`: it was made again while being replaced`, { kind: 'external' });
}

const LIMIT_NAMES: Record<CgroupController, string> = { memory: 'memory limit', cpu: 'CPU limit', pids: 'pids limit' };

/** The controllers `limits` needs. */
export function controllersFor(limits: CgroupLimits): CgroupController[] {
  const wanted: CgroupController[] = [];
  if (limits.memoryBytes !== undefined) wanted.push('memory');
  if (limits.cpus !== undefined) wanted.push('cpu');
  if (limits.pidsLimit !== undefined) wanted.push('pids');
  return wanted;
}

/** Throw CGROUP_UNAVAILABLE, saying why and how to fix it, when a requested limit's controller is not usable. */
export function assertLimitsSupported(setup: CgroupSetup, id: string, limits: CgroupLimits): void {
  const missing = controllersFor(limits)
    .map((controller) => setup.controllers.find((c) => c.controller === controller))
    .filter((status) => status !== undefined && !status.usable);
  if (missing.length === 0) return;
  const reasons = missing.map((s) => `${LIMIT_NAMES[s!.controller]}: ${s!.reason ?? 'unavailable'}`).join('; ');
  const fix = setup.fix ? `To enable cgroup limits:\n${setup.fix}\nOr start the container without resource limits.` : 'Start the container without resource limits.';
  throw new DevenvError('CGROUP_UNAVAILABLE', `container \`${id}\`: cannot apply resource limits (cgroup ${setup.mode}${setup.rootless ? ', rootless' : ''}): ${reasons}`, {
    kind: 'external',
    hint: fix,
  });
}

/** Validate pidsLimit and memoryBytes the CLI parsers did not see (API callers). */
export function assertLimitsValid(limits: CgroupLimits): void {
  const bad = (what: string): never => {
    throw new DevenvError('USAGE', `invalid ${what}`);
  };
  if (limits.memoryBytes !== undefined && !(Number.isSafeInteger(limits.memoryBytes) && limits.memoryBytes > 0)) bad(`memory limit ${limits.memoryBytes}`);
  if (limits.cpus !== undefined && !(Number.isFinite(limits.cpus) && limits.cpus > 0)) bad(`CPU limit ${limits.cpus}`);
  if (limits.pidsLimit !== undefined && !(Number.isSafeInteger(limits.pidsLimit) && limits.pidsLimit > 0)) bad(`pids limit ${limits.pidsLimit}`);
}

/** True when `path` is `<parent>/<id>` for one of `parents`: the only directories devenv may ever remove. */
export function isContainerCgroupPath(path: string, parents: readonly string[]): boolean {
  return parents.includes(dirname(path)) && CONTAINER_ID_PATTERN.test(basename(path));
}

async function listSubdirectories(path: string): Promise<string[]> {
  try {
    const entries = readdirSync(path, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => join(path, e.name));
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT') || isErrnoCode(error, 'ENOTDIR')) return [];
    throw error;
  }
}

const EBUSY_RETRIES = 20;
const EBUSY_DELAY_MS = 50;

/**
 * rmdir a cgroup and, first, any child cgroups a container made inside it. Missing is fine; EBUSY (tasks
 * still exiting) is retried for about a second. Never removes files: cgroupfs directories go with rmdir alone.
 */
export async function removeCgroupDirectory(path: string): Promise<void> {
  for (const child of await listSubdirectories(path)) await removeCgroupDirectory(child);
  for (let attempt = 0; ; attempt += 1) {
    try {
      rmdirSync(path);
      return;
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) return;
      if (isErrnoCode(error, 'EBUSY') && attempt < EBUSY_RETRIES) {
        await sleep(EBUSY_DELAY_MS);
        continue;
      }
      throw new DevenvError('CGROUP_WRITE', `remove cgroup \`${path}\`: ${errnoCode(error)}`, {
        kind: 'external',
        cause: error,
        ...(isErrnoCode(error, 'EBUSY') ? { hint: 'Processes still run in it; stop the container first.' } : {}),
      });
    }
  }
}

/** Remove container cgroups after checking each one lies directly under one of `parents`. */
export async function removeContainerCgroupPaths(paths: readonly string[], parents: readonly string[]): Promise<void> {
  for (const path of paths) {
    if (!isContainerCgroupPath(path, parents)) {
      throw new DevenvError('INTERNAL', `refusing to remove cgroup \`${path}\`: it is not a container cgroup under ${parents.map((p) => `\`${p}\``).join(', ') || 'any devenv parent'}`, {
        kind: 'bug',
      });
    }
  }
  for (const path of paths) await removeCgroupDirectory(path);
}

function parseFlatKeyed(text: string, key: string): number | undefined {
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name === key && value !== undefined) return Number(value);
  }
  return undefined;
}

/** OOM kills recorded in v2 `memory.events` or v1 `memory.oom_control` (`oom_kill N`, kernel ≥ 4.13). */
export async function readOomKilled(paths: readonly string[]): Promise<boolean> {
  for (const path of paths) {
    for (const file of ['memory.events', 'memory.oom_control']) {
      let text: string;
      try {
        text = readFileSync(join(path, file), 'utf8');
      } catch {
        continue;
      }
      const kills = parseFlatKeyed(text, 'oom_kill');
      if (kills !== undefined && kills > 0) return true;
    }
  }
  return false;
}

/** Pids in these cgroups and in their child cgroups. */
export async function listCgroupProcesses(paths: readonly string[]): Promise<number[]> {
  const pids = new Set<number>();
  const visit = async (path: string): Promise<void> => {
    let text = '';
    try {
      text = readFileSync(join(path, 'cgroup.procs'), 'utf8');
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) return;
      throw error;
    }
    for (const line of text.split('\n')) if (line.trim() !== '') pids.add(Number(line));
    for (const child of await listSubdirectories(path)) await visit(child);
  };
  for (const path of paths) await visit(path);
  return [...pids].sort((a, b) => a - b);
}

/** Container cgroups under `parents`, grouped by id across hierarchies, minus `knownIds`. */
export async function listContainerCgroups(parents: readonly string[], knownIds?: ReadonlySet<string>): Promise<CgroupEntry[]> {
  const byId = new Map<string, string[]>();
  for (const parent of parents) {
    for (const path of await listSubdirectories(parent)) {
      const id = basename(path);
      if (!CONTAINER_ID_PATTERN.test(id) || knownIds?.has(id)) continue;
      byId.set(id, [...(byId.get(id) ?? []), path]);
    }
  }
  return [...byId.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, paths]) => ({ id, paths }));
}

/** Whether `path` exists (any type). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    accessSync(path);
    return true;
  } catch {
    return false;
  }
}
