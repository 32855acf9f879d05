import type { PortsSpec } from './ports/port-spec.js';
import type { OciCapabilities } from './security/capabilities.js';
import type { OciSeccomp } from './security/seccomp-profile.js';

export type { OciCapabilities, OciSeccomp };
export type OciSeccompProfile = OciSeccomp;

/** The subset of the OCI runtime-spec config that devenv writes (see docs/runtime-contract.md). */
export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciRlimit {
  type: string;
  soft: number;
  hard: number;
}

export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  noNewPrivileges: boolean;
  rlimits?: OciRlimit[];
  consoleSize?: { height: number; width: number };
}

export type OciNamespaceType = 'user' | 'mount' | 'pid' | 'uts' | 'ipc' | 'network' | 'cgroup';

/**
 * How the runtime networks the container (docs/runtime-contract.md): `private` makes it start `helper`
 * (slirp4netns) for the new network namespace; `host` and `none` need nothing beyond linux.namespaces.
 */
export type DevenvNetworkSpec = { mode: 'host' | 'none' } | { mode: 'private'; helper: string; mtu: number; ipv6: boolean };

/** devenv's extension object inside config.json (ignored by other OCI runtimes). */
export interface DevenvSpecExtension {
  rootfs: { driver: 'overlay' | 'fuse-overlayfs' | 'bind'; lowerdirs: string[]; upperdir: string; workdir: string };
  cgroups: string[];
  cgroupVersion: 1 | 2 | 0;
  rootless: boolean;
  newuidmap: string;
  newgidmap: string;
  fuseOverlayfs: string;
  stdin: boolean;
  logPath: string;
  autoRemove: boolean;
  /** Where the runtime keeps the compiled seccomp filter for this profile (shared by containers with the same one). */
  seccompCache?: string;
  /** Port forwards the monitor serves (docs/runtime-contract.md, "Ports"). */
  ports?: PortsSpec;
  /** Network mode and, for private, the egress helper (written by every devenv since private networking). */
  network?: DevenvNetworkSpec;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: OciNamespaceType }[];
    uidMappings?: OciIdMapping[];
    gidMappings?: OciIdMapping[];
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp?: OciSeccompProfile;
    resources?: {
      memory?: { limit: number; swap: number };
      cpu?: { quota: number; period: number };
      pids?: { limit: number };
    };
    cgroupsPath?: string;
  };
  annotations: Record<string, string>;
  devenv: DevenvSpecExtension;
}
