import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';

import { randomHex } from '../../host/random-id.js';
import { bundleDir, type ContainerRecord } from '../../runtime/container-store.js';
import { readRootfsFile, resolveContainerUser } from '../../runtime/container-user.js';
import { toHostId } from '../../runtime/idmap.js';
import { AGENT_MOUNT_TARGET, agentDirMode, findAgentDir } from './agent-mount.js';

/** Where one client's relay socket goes, and who may use it. */
export interface RelaySocketPlan {
  /** The host directory (bind-mounted at AGENT_MOUNT_TARGET). */
  dir: string;
  dirMode: number;
  /** The socket's host path. */
  hostPath: string;
  /** SSH_AUTH_SOCK for the session's commands. */
  containerPath: string;
  /** Root: the host ids the container user maps to (the socket is chowned to them); rootless: none (ours). */
  owner?: { uid: number; gid: number };
}

/** A socket plan, or why this session gets no agent (said once to the user). */
export type RelaySocketOutcome = { plan: RelaySocketPlan } | { warning: string; once?: string };

/** `<pid>.<random>.sock`: the pid tells a later client whether its owner is gone (a killed client leaves it behind). */
const SOCKET_NAME = /^(\d+)\.[0-9a-f]+\.sock$/;

export function relaySocketName(pid: number): string {
  return `${pid}.${randomHex(4)}.sock`;
}

/** The pid a relay socket's name carries; undefined for other files. Pure. */
export function relaySocketPid(name: string): number | undefined {
  const m = SOCKET_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Whether a process runs (a zombie, killed but not yet reaped by its parent, does not). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Remove the sockets of clients that ended without cleaning up (kill -9, a crash). Returns the names removed. */
export function removeStaleSockets(dir: string, isAlive: (pid: number) => boolean = isProcessAlive): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = relaySocketPid(name);
    if (pid === undefined || pid === process.pid || isAlive(pid)) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** The host ids a container user runs as, through the container's id mappings (none: the host's own ids). Pure. */
export function hostIdsOf(record: Pick<ContainerRecord, 'spec'>, ids: { uid: number; gid: number }): { uid?: number; gid?: number } {
  const maps = record.spec.idMappings;
  if (!maps) return ids;
  return { uid: toHostId(maps.uid, ids.uid), gid: toHostId(maps.gid, ids.gid) };
}

/**
 * Decide where a relay socket for `user` (a container user spec, e.g. remoteUser) goes. Rootless, the socket is
 * ours (0600): usable by container users mapped to us, and by container root (its capabilities cover our files).
 * Root, the socket is chowned to the host ids the user maps to. Pure apart from reading the image's passwd.
 */
export function planRelaySocket(record: Pick<ContainerRecord, 'spec' | 'name'>, user: string, self: { uid: number; pid: number }): RelaySocketOutcome {
  const dir = findAgentDir(record);
  if (!dir) {
    return {
      warning: `the ssh agent is not forwarded into \`${record.name}\`: it was created before devenv mounted agent sockets; run \`devenv up --rebuild\` to get them`,
      once: 'agent-mount',
    };
  }
  const lowerdirs = record.spec.rootfs.lowerdirs;
  const who = resolveContainerUser(user, { passwd: readRootfsFile(lowerdirs, 'etc/passwd'), group: readRootfsFile(lowerdirs, 'etc/group') });
  const host = hostIdsOf(record, who);
  const rootless = self.uid !== 0;
  const name = relaySocketName(self.pid);
  const base = { dir, dirMode: agentDirMode(rootless), hostPath: join(dir, name), containerPath: posix.join(AGENT_MOUNT_TARGET, name) };
  if (rootless) {
    if (host.uid === self.uid || who.uid === 0) return { plan: base };
    return { warning: `the ssh agent is not forwarded to container user \`${user}\`: it maps to host uid ${host.uid ?? 'none'}, not yours (${self.uid})` };
  }
  if (host.uid === undefined || host.gid === undefined) return { warning: `the ssh agent is not forwarded to container user \`${user}\`: its ids are not mapped to the host` };
  return { plan: { ...base, owner: { uid: host.uid, gid: host.gid } } };
}

/**
 * A warning that should be said once per container (not on every exec): true the first time for this key, after
 * which a marker in the container's bundle keeps it quiet.
 */
export function isFirstWarning(root: string, record: Pick<ContainerRecord, 'id'>, key: string): boolean {
  const marker = join(bundleDir(root, record.id), `warned-${key}`);
  if (existsSync(marker)) return false;
  try {
    writeFileSync(marker, '', { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}
