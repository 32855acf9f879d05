import { join } from 'node:path';

import { fnv1a64 } from '../host/random-id.js';
import type { PortsSpec } from './ports/port-spec.js';
import { PRIVATE_NETWORK, type NetworkFileName } from './network/network-files.js';
import type { NetworkMode } from './network/network-mode.js';

import type {
  DevenvNetworkSpec,
  OciCapabilities,
  OciIdMapping,
  OciMount,
  OciNamespaceType,
  OciRlimit,
  OciSeccompProfile,
  OciSpec,
} from './oci-spec-types.js';

/** A bind or tmpfs mount requested by the user (`-v`, `--mount`). */
export interface UserMount {
  type: 'bind' | 'tmpfs';
  source?: string;
  target: string;
  readonly: boolean;
  /**
   * A devenv volume (`-v NAME:/path`, `--mount type=volume`): a bind mount of `<root>/volumes/<name>/_data`,
   * whose `source` create fills in after making the volume (src/services/container/create-volumes.ts).
   */
  volume?: { name: string; anonymous: boolean };
}

/** Everything the pure spec generator needs; services resolve users, id maps, cgroups and defaults first. */
export interface ContainerSpecInput {
  id: string;
  bundleDir: string;
  hostname: string;
  rootfs: { driver: 'overlay' | 'fuse-overlayfs' | 'bind'; lowerdirs: string[] };
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  terminal: boolean;
  stdin: boolean;
  mounts: UserMount[];
  network: NetworkMode;
  /**
   * Files of the bundle bind-mounted over `/etc/<name>` (written at create: runtime/network/network-files.ts).
   * Absent in records made before private networking existed.
   */
  networkFiles?: NetworkFileName[];
  readOnly: boolean;
  privileged: boolean;
  capabilities: OciCapabilities;
  /** null: no filter (privileged). */
  seccomp: OciSeccompProfile | null;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** null: share the host's user namespace (root + --privileged only). */
  idMappings: { uid: OciIdMapping[]; gid: OciIdMapping[] } | null;
  rootless: boolean;
  cgroups: { version: 0 | 1 | 2; paths: string[] };
  resources: { memoryBytes?: number; cpus?: number; pidsLimit?: number };
  rlimits: OciRlimit[];
  autoRemove: boolean;
  /** Directory for compiled seccomp filters (`<root>/cache/seccomp`); none: no caching. */
  seccompCacheDir?: string;
  /** slirp4netns: the egress helper of the private network mode ('' when not installed). */
  tools: { newuidmap: string; newgidmap: string; fuseOverlayfs: string; slirp4netns?: string };
  /** Port forwards and automatic forwarding, served by the monitor (runtime/ports/port-spec.ts portsSpecFor). */
  ports?: PortsSpec;
}

const CPU_PERIOD = 100_000;

/** The container's file system layout inside: /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys, then user mounts. */
function systemMounts(input: ContainerSpecInput): OciMount[] {
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', input.privileged ? 'rw' : 'ro'],
    },
  ];
  if (input.cgroups.version === 2) {
    mounts.push({
      destination: '/sys/fs/cgroup',
      type: 'cgroup2',
      source: 'cgroup2',
      options: ['nosuid', 'noexec', 'nodev', input.privileged ? 'rw' : 'ro'],
    });
  }
  return mounts;
}

function userMounts(mounts: UserMount[]): OciMount[] {
  return mounts.map((m) =>
    m.type === 'tmpfs'
      ? { destination: m.target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', ...(m.readonly ? ['ro'] : [])] }
      : { destination: m.target, type: 'bind', source: m.source ?? '', options: ['rbind', m.readonly ? 'ro' : 'rw'] },
  );
}

/** /etc/hosts, /etc/hostname, /etc/resolv.conf from the bundle; before user mounts, so `-v` can replace them. */
function networkFileMounts(input: ContainerSpecInput): OciMount[] {
  return (input.networkFiles ?? []).map((name) => ({
    destination: `/etc/${name}`,
    type: 'bind',
    source: join(input.bundleDir, name),
    options: ['bind', 'rw', 'nosuid', 'nodev', 'noexec'],
  }));
}

/** What the runtime needs to network the container (docs/runtime-contract.md, `devenv.network`). */
function networkExtension(input: ContainerSpecInput): DevenvNetworkSpec {
  if (input.network !== 'private') return { mode: input.network };
  return { mode: 'private', helper: input.tools.slirp4netns ?? '', mtu: PRIVATE_NETWORK.mtu, ipv6: true };
}

function namespaces(input: ContainerSpecInput): { type: OciNamespaceType }[] {
  const types: OciNamespaceType[] = [];
  if (input.idMappings) types.push('user');
  types.push('mount', 'pid', 'uts', 'ipc');
  if (input.network !== 'host') types.push('network');
  types.push('cgroup');
  return types.map((type) => ({ type }));
}

function resources(input: ContainerSpecInput): OciSpec['linux']['resources'] {
  const out: NonNullable<OciSpec['linux']['resources']> = {};
  if (input.resources.memoryBytes !== undefined) {
    out.memory = { limit: input.resources.memoryBytes, swap: input.resources.memoryBytes };
  }
  if (input.resources.cpus !== undefined) out.cpu = { quota: Math.round(input.resources.cpus * CPU_PERIOD), period: CPU_PERIOD };
  if (input.resources.pidsLimit !== undefined) out.pids = { limit: input.resources.pidsLimit };
  return out;
}

/** One cache file per distinct profile: the runtime compiles a profile to BPF once (~13 ms) and reuses it. */
function seccompCachePath(input: ContainerSpecInput): string | undefined {
  if (!input.seccomp || input.privileged || !input.seccompCacheDir) return undefined;
  const digest = fnv1a64(JSON.stringify(input.seccomp));
  return join(input.seccompCacheDir, `${digest}.bpf`);
}

/** Build the container's config.json. Pure: same input, same document. */
export function buildContainerSpec(input: ContainerSpecInput): OciSpec {
  const spec: OciSpec = {
    ociVersion: '1.1.0',
    process: {
      terminal: input.terminal,
      user: {
        uid: input.user.uid,
        gid: input.user.gid,
        ...(input.user.additionalGids.length > 0 ? { additionalGids: input.user.additionalGids } : {}),
      },
      args: input.args,
      env: input.env,
      cwd: input.cwd,
      capabilities: input.capabilities,
      noNewPrivileges: !input.privileged,
      ...(input.rlimits.length > 0 ? { rlimits: input.rlimits } : {}),
    },
    root: { path: join(input.bundleDir, 'rootfs'), readonly: input.readOnly },
    hostname: input.hostname,
    mounts: [...systemMounts(input), ...networkFileMounts(input), ...userMounts(input.mounts)],
    linux: {
      namespaces: namespaces(input),
      ...(input.idMappings ? { uidMappings: input.idMappings.uid, gidMappings: input.idMappings.gid } : {}),
      maskedPaths: input.privileged ? [] : input.maskedPaths,
      readonlyPaths: input.privileged ? [] : input.readonlyPaths,
      ...(input.seccomp && !input.privileged ? { seccomp: input.seccomp } : {}),
      resources: resources(input),
      cgroupsPath: `devenv/${input.id}`,
    },
    annotations: { 'io.devenv.container.id': input.id },
    devenv: {
      rootfs: {
        driver: input.rootfs.driver,
        lowerdirs: input.rootfs.lowerdirs,
        upperdir: join(input.bundleDir, 'upper'),
        workdir: join(input.bundleDir, 'work'),
      },
      cgroups: input.cgroups.paths,
      cgroupVersion: input.cgroups.version,
      rootless: input.rootless,
      newuidmap: input.tools.newuidmap,
      newgidmap: input.tools.newgidmap,
      fuseOverlayfs: input.tools.fuseOverlayfs,
      stdin: input.stdin,
      logPath: join(input.bundleDir, 'ctr.log'),
      autoRemove: input.autoRemove,
      ...(seccompCachePath(input) ? { seccompCache: seccompCachePath(input) } : {}),
      ...(input.ports ? { ports: input.ports } : {}),
      network: networkExtension(input),
    },
  };
  return spec;
}
