import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { ContainerRecord } from '../../runtime/container-store.js';
import type { UserMount } from '../../runtime/spec.js';

/**
 * Where a dev container sees devenv's agent sockets (docs/ssh-agent-and-git.md). Under /run, not /tmp: /run is for
 * run-time sockets and no tmp cleaner or `tmpfs /tmp` mount of the config hides or empties it.
 */
export const AGENT_MOUNT_TARGET = '/run/devenv-agent';

/**
 * The host directory bind-mounted at AGENT_MOUNT_TARGET: one per project, beside the project's link in
 * `<root>/projects` (mode 0700, owned by devenv's user), so no other host user can reach the sockets in it while
 * the container sees the directory itself.
 */
export function agentHostDir(root: string, devcontainerId: string): string {
  return join(root, 'projects', `${devcontainerId}.agent`);
}

/**
 * The agent directory's mode. Rootless: 0700, the container users that can use a socket are those mapped to the
 * invoking user anyway. Root: 0711, so each container user reaches only the socket chowned to it (0600) and
 * cannot list the others; host users are kept out by `<root>/projects` (0700). Pure.
 */
export function agentDirMode(rootless: boolean): number {
  return rootless ? 0o700 : 0o711;
}

/** Make a project's agent directory (before its container is created: the mount needs its source). */
export function ensureAgentDir(root: string, devcontainerId: string): string {
  mkdirSync(join(root, 'projects'), { recursive: true, mode: 0o700 });
  const dir = agentHostDir(root, devcontainerId);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, agentDirMode((process.getuid?.() ?? 0) !== 0));
  return dir;
}

/** The bind mount of an agent directory into a dev container. Pure. */
export function agentMount(dir: string): UserMount {
  return { type: 'bind', source: dir, target: AGENT_MOUNT_TARGET, readonly: false };
}

/** The host directory a container has mounted for agent sockets; undefined for containers made before it existed. Pure. */
export function findAgentDir(record: Pick<ContainerRecord, 'spec'>): string | undefined {
  const m = record.spec.mounts.find((x) => x.type === 'bind' && x.target === AGENT_MOUNT_TARGET && x.source);
  return m?.source;
}
