import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { DevenvError, isErrnoCode } from '../errors.js';
import { writeJsonAtomic } from '../host/atomic-file.js';
import { isSameProcessAlive } from './process-state.js';
import type { ContainerSpecInput } from './spec.js';

/** devenv's own record of a container (`container.json`), written once at create. */
export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  /** The root file system: the --rootfs directory, or the image reference it was made from. */
  rootfs: string;
  /** Set when the container was made from an image: what `image rm` and `image prune` must keep. */
  image?: { reference: string; manifestDigest: string; configDigest: string; chainIds?: string[] };
  command: string[];
  /** Docker-style labels (`--label`; `devenv up` records the project's folder and config file here). */
  labels?: Record<string, string>;
  /** Resolved create options; cgroup paths are filled in at each start. */
  spec: Omit<ContainerSpecInput, 'cgroups'>;
  limits: { memoryBytes?: number; cpus?: number; pidsLimit?: number };
  autoRemove: boolean;
  /** Warnings found at create time, repeated at start (e.g. limits that cannot be applied). */
  warnings: string[];
}

/** What the monitor wrote in state.json. */
export interface MonitorState {
  pid: number;
  pidStartTime?: string;
  monitorPid?: number;
  monitorStartTime?: string;
  startedAt?: string;
}

/** What the monitor wrote in exit.json. */
export interface ExitState {
  exitCode: number;
  signal: string | null;
  oomKilled: boolean;
  finishedAt?: string;
}

export type ContainerStatus = 'created' | 'running' | 'exited' | 'unknown';

/** The true status, derived from the files and /proc at the time of the call. */
export interface ContainerState {
  status: ContainerStatus;
  pid?: number;
  monitor?: MonitorState;
  exit?: ExitState;
  /** Set for `unknown`: why the status could not be known exactly. */
  detail?: string;
}

export function containersDir(root: string): string {
  return join(root, 'containers');
}

export function bundleDir(root: string, id: string): string {
  return join(containersDir(root), id);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Create the bundle directory atomically: it appears complete (record, rootfs, upper, work, and `files`: the
 * container's /etc/hosts, /etc/hostname, /etc/resolv.conf) or not at all.
 */
export function createBundle(root: string, record: ContainerRecord, files: Readonly<Record<string, string>> = {}): string {
  const dir = containersDir(root);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.tmp-${record.id}`);
  mkdirSync(tmp, { mode: 0o700 });
  try {
    for (const sub of ['rootfs', 'upper', 'work']) mkdirSync(join(tmp, sub), { mode: 0o755 });
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(tmp, name), text);
      chmodSync(join(tmp, name), 0o644); // readable by every user in the container, whatever our umask
    }
    // A --rm container is gone after its run: its record need not survive a power loss.
    writeJsonAtomic(join(tmp, 'container.json'), record, { durable: !record.autoRemove });
    renameSync(tmp, join(dir, record.id));
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  return join(dir, record.id);
}

export function readRecord(root: string, id: string): ContainerRecord | undefined {
  return readJson<ContainerRecord>(join(bundleDir(root, id), 'container.json'));
}

/** Every complete container in the store (half-made `.tmp-*` bundles are not containers). */
export function listRecords(root: string): ContainerRecord[] {
  let names: string[];
  try {
    names = readdirSync(containersDir(root));
  } catch {
    return [];
  }
  const out: ContainerRecord[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const record = readRecord(root, name);
    if (record) out.push(record);
  }
  return out.sort((a, b) => a.created.localeCompare(b.created));
}

/** Half-made bundles left by a devenv killed during create. */
export function listIncompleteBundles(root: string): string[] {
  try {
    return readdirSync(containersDir(root))
      .filter((n) => n.startsWith('.tmp-'))
      .map((n) => join(containersDir(root), n));
  } catch {
    return [];
  }
}

/** The name index: `containers/.names/<name>` is a symlink to the id. Creating a symlink is atomic, so two
 * creates racing for one name cannot both win; a link whose bundle is gone (crash, `--rm -d`) is free again. */
function namesDir(root: string): string {
  return join(containersDir(root), '.names');
}

function nameOwner(root: string, name: string): string | undefined {
  try {
    const id = readlinkSync(join(namesDir(root), name));
    return existsSync(join(bundleDir(root, id), 'container.json')) ? id : undefined;
  } catch {
    return undefined;
  }
}

export function isNameTaken(root: string, name: string): boolean {
  return nameOwner(root, name) !== undefined;
}

/** Claim `name` for `id`, or throw CONTAINER_NAME_IN_USE naming the owner. */
export function claimName(root: string, name: string, id: string): void {
  mkdirSync(namesDir(root), { recursive: true, mode: 0o700 });
  const link = join(namesDir(root), name);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      symlinkSync(id, link);
      return;
    } catch (error) {
      if (!isErrnoCode(error, 'EEXIST')) throw error;
      const owner = nameOwner(root, name);
      if (owner) {
        throw new DevenvError('CONTAINER_NAME_IN_USE', `the name \`${name}\` is already used by container ${owner.slice(0, 12)}`, {
          hint: `Remove it (\`devenv container rm ${name}\`) or choose another --name.`,
        });
      }
      rmSync(link, { force: true }); // stale: its container is gone
    }
  }
  throw new DevenvError('CONTAINER_NAME_IN_USE', `the name \`${name}\` is being claimed by another command`);
}

/** Give the name back if it still points at `id`. */
export function releaseName(root: string, name: string, id: string): void {
  const link = join(namesDir(root), name);
  try {
    if (readlinkSync(link) === id) unlinkSync(link);
  } catch {
    // already gone
  }
}

/** Find a container by full id, name, or unique id prefix, as Docker does. */
export function findRecord(root: string, ref: string): ContainerRecord {
  const direct = /^[0-9a-f]{64}$/.test(ref) ? readRecord(root, ref) : undefined;
  if (direct) return direct;
  const owner = nameOwner(root, ref);
  const named = owner ? readRecord(root, owner) : undefined;
  if (named) return named;
  const records = listRecords(root);
  const exact = records.find((r) => r.id === ref || r.name === ref);
  if (exact) return exact;
  const byPrefix = ref.length >= 3 ? records.filter((r) => r.id.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0] as ContainerRecord;
  if (byPrefix.length > 1) {
    throw new DevenvError('USAGE', `container reference \`${ref}\` is ambiguous: it matches ${byPrefix.length} containers`, {
      hint: 'Use more characters of the id, or the name.',
    });
  }
  throw new DevenvError('CONTAINER_NOT_FOUND', `no such container: \`${ref}\``, {
    hint: 'Run `devenv container ls -a` to see the containers in this store.',
  });
}

export function readContainerState(dir: string): ContainerState {
  const monitor = readJson<MonitorState>(join(dir, 'state.json'));
  const exit = readJson<ExitState>(join(dir, 'exit.json'));
  if (!monitor) return exit ? { status: 'exited', exit } : { status: 'created' };
  if (isSameProcessAlive(monitor.pid, monitor.pidStartTime)) return { status: 'running', pid: monitor.pid, monitor };
  if (exit) return { status: 'exited', monitor, exit };
  // The container's process is gone but nobody recorded how it ended: the monitor itself was killed.
  const monitorAlive = monitor.monitorPid !== undefined && isSameProcessAlive(monitor.monitorPid, monitor.monitorStartTime);
  if (monitorAlive) return { status: 'running', pid: monitor.pid, monitor, detail: 'exiting' };
  return { status: 'unknown', monitor, detail: 'the container ended while its monitor was not running; exit status unknown' };
}

/** Forget the previous run's state files before a new start. */
export function clearRunState(dir: string): void {
  for (const f of ['state.json', 'exit.json']) rmSync(join(dir, f), { force: true });
}

export function recordPath(dir: string): string {
  return join(dir, 'container.json');
}

export function isBundle(dir: string): boolean {
  return existsSync(join(dir, 'container.json'));
}
