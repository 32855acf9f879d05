import { basename } from 'node:path';

import type { LoadedProject } from '../../devcontainer/config/load-project.js';
import type { MergedConfig, MountObject } from '../../devcontainer/config/config-types.js';
import type { RunArgsOptions } from '../../devcontainer/config/run-args.js';
import { parseMountString } from '../../devcontainer/config/workspace.js';
import type { ImageConfig } from '../../image/types.js';
import type { UserMount } from '../../runtime/spec.js';
import { AGENT_MOUNT_TARGET, agentMount } from '../agent/agent-mount.js';
import type { CreateContainerOptions } from '../container/create-options.js';
import { projectNetworkOptions } from './project-network.js';
import { projectPortsSpec, type RequiredHostPort } from './project-ports-spec.js';

/**
 * What a dev container runs when the config does not ask for the image's own command (`overrideCommand`,
 * default true): a shell that sleeps until stopped and exits 0 on SIGTERM. One sleep for the container's
 * life, not the devcontainer CLI's `sleep 1` loop, so hundreds of idle environments cost no CPU.
 */
export const IDLE_COMMAND = ['/bin/sh', '-c', "echo Container started; trap 'exit 0' TERM; while sleep 2147483647 & wait $!; do :; done"];

/** Labels that tie a container to its project, as the devcontainer CLI writes them (so tools find it). */
export function projectLabels(project: LoadedProject, metadata: string): Record<string, string> {
  return { ...project.idLabels, 'devcontainer.metadata': metadata, 'devenv.project': project.devcontainerId };
}

/** A readable, stable container name: `<folder>-<first 8 of the devcontainer id>`. */
export function projectContainerName(project: LoadedProject): string {
  const folder = basename(project.workspaceFolder).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'devcontainer';
  return `${folder.slice(0, 40)}-${project.devcontainerId.slice(0, 8)}`;
}

/** The user `exec` and the hooks run as: remoteUser, else containerUser, else the image's user, else root. */
export function resolveRemoteUser(merged: MergedConfig, image: ImageConfig | undefined): string {
  return merged.remoteUser ?? merged.containerUser ?? (image?.config?.User || 'root');
}

function toUserMount(m: MountObject, where: string): UserMount | string {
  if (m.type === 'bind') {
    if (!m.source) throw new Error(`${where}: a bind mount needs a source`);
    return { type: 'bind', source: m.source, target: m.target, readonly: m.readonly === true };
  }
  if (m.type === 'tmpfs') return { type: 'tmpfs', target: m.target, readonly: m.readonly === true };
  // Named and anonymous volumes go through the volume store (create-options' --mount parser).
  return `type=volume,${m.source ? `source=${m.source},` : ''}target=${m.target}${m.readonly ? ',readonly' : ''}`;
}

export interface ProjectCreateInput {
  project: LoadedProject;
  merged: MergedConfig;
  runArgs: RunArgsOptions;
  imageRef: string;
  imageConfig: ImageConfig;
  /** JSON of the merged metadata, kept as the container's `devcontainer.metadata` label. */
  metadataLabel: string;
  remoteUser: string;
  rootless: boolean;
  /** The project's agent directory, bind-mounted for ssh agent relay sockets (docs/ssh-agent-and-git.md). */
  agentDir?: string;
}

export interface ProjectCreateOptions {
  options: CreateContainerOptions;
  /** Mounts already resolved to objects (the workspace and `mounts` binds); volumes stay in options.mounts. */
  mounts: UserMount[];
  warnings: string[];
  /** Forwards whose host port must be free, with the property that says so (for a clear PORT_IN_USE). */
  requiredPorts: RequiredHostPort[];
}

/** The container create options of a project: pure, from the loaded config, the merged metadata and runArgs. */
export function projectCreateOptions(input: ProjectCreateInput): ProjectCreateOptions {
  const { project, merged, runArgs } = input;
  const warnings: string[] = [];
  const mounts: UserMount[] = [];
  const volumeMounts: string[] = [];
  const all: MountObject[] = [project.workspaceMount, ...merged.mounts.map((m) => (typeof m === 'string' ? parseMountString(m, 'mounts') : m))];
  // Later entries win for the same target (spec merge rule; the workspace mount stays first).
  const byTarget = new Map<string, MountObject>();
  for (const m of all) byTarget.set(m.target, m);
  for (const m of byTarget.values()) {
    const resolved = toUserMount(m, 'mounts');
    if (typeof resolved === 'string') volumeMounts.push(resolved);
    else mounts.push(resolved);
  }
  if (input.agentDir !== undefined && !byTarget.has(AGENT_MOUNT_TARGET)) mounts.push(agentMount(input.agentDir));
  if (runArgs.devices.length > 0) warnings.push('runArgs: --device is not supported by devenv yet and was ignored');
  if (runArgs.shmSize !== undefined) warnings.push('runArgs: --shm-size is not needed (devenv mounts /dev/shm without a size cap) and was ignored');
  const containerEnv = Object.entries(merged.containerEnv).map(([k, v]) => `${k}=${v}`);
  const override = merged.overrideCommand ?? true;
  const options: CreateContainerOptions = {
    image: input.imageRef,
    pull: 'never',
    name: runArgs.name,
    command: override ? IDLE_COMMAND : [],
    ...(override ? { entrypoint: '' } : {}),
    env: [...containerEnv, ...runArgs.env],
    envFiles: [],
    volumes: runArgs.volumes,
    mounts: [...volumeMounts, ...runArgs.mounts],
    workdir: runArgs.workdir ?? project.containerWorkspaceFolder,
    ...(merged.containerUser !== undefined || runArgs.user !== undefined ? { user: runArgs.user ?? merged.containerUser } : {}),
    ...(runArgs.hostname !== undefined ? { hostname: runArgs.hostname } : {}),
    ...(runArgs.memory !== undefined ? { memory: runArgs.memory } : {}),
    ...(runArgs.cpus !== undefined ? { cpus: runArgs.cpus } : {}),
    ...(runArgs.pidsLimit !== undefined ? { pidsLimit: runArgs.pidsLimit } : {}),
    ...(runArgs.userns !== undefined ? { userns: runArgs.userns } : {}),
    readOnly: false,
    capAdd: [...merged.capAdd, ...runArgs.capAdd],
    capDrop: runArgs.capDrop,
    privileged: merged.privileged || runArgs.privileged,
    securityOpt: [...merged.securityOpt, ...runArgs.securityOpt],
    interactive: false,
    tty: false,
    ulimits: runArgs.ulimits,
    autoRemove: false,
    labels: { ...parseLabels(runArgs.labels), ...projectLabels(project, input.metadataLabel) },
    // updateRemoteUserUID (default true) is what this mapping achieves rootless: remoteUser's files are the user's.
    ...(input.rootless && runArgs.userns === undefined && merged.updateRemoteUserUID !== false ? { keepIdUser: input.remoteUser } : {}),
  };
  const network = projectNetworkOptions(runArgs);
  Object.assign(options, network);
  const ports = projectPortsSpec({
    forwardPorts: merged.forwardPorts,
    ...(project.config.appPort !== undefined ? { appPort: project.config.appPort } : {}),
    portsAttributes: merged.portsAttributes,
    ...(merged.otherPortsAttributes ? { otherPortsAttributes: merged.otherPortsAttributes } : {}),
    publish: runArgs.publish,
    ...(network.network !== undefined ? { network: network.network } : {}),
  });
  warnings.push(...ports.warnings);
  if (ports.spec) options.ports = ports.spec;
  if (options.name === undefined) options.name = projectContainerName(project);
  return { options: { ...options, extraMounts: mounts }, mounts, warnings, requiredPorts: ports.required };
}

function parseLabels(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    out[eq === -1 ? v : v.slice(0, eq)] = eq === -1 ? '' : v.slice(eq + 1);
  }
  return out;
}
