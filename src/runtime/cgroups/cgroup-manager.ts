import type { CgroupMode } from './detect-cgroup-mode.js';

/** The controllers devenv sets limits with. */
export type CgroupController = 'memory' | 'cpu' | 'pids';
export const CGROUP_CONTROLLERS: readonly CgroupController[] = ['memory', 'cpu', 'pids'];

/** Resource limits of one container. Absent = unlimited. */
export interface CgroupLimits {
  /** Hard memory limit in bytes; swap is limited to 0 on top of it where the kernel accounts swap. */
  memoryBytes?: number;
  /** Fractional CPUs, e.g. 1.5 → CFS quota 150000 µs per 100000 µs period. */
  cpus?: number;
  /** Maximum number of tasks (processes and threads). */
  pidsLimit?: number;
}

/** The cgroup directories made for one container: what goes into `config.json` (`devenv.cgroups`). */
export interface ContainerCgroup {
  version: 1 | 2;
  /** v1: one directory per hierarchy (memory, cpu, pids); v2: one directory. Empty: no cgroup (rootless without delegation). */
  paths: string[];
}

/** Whether one controller can be used by the current user, and where. */
export interface ControllerStatus {
  controller: CgroupController;
  usable: boolean;
  /** The directory under which container cgroups using this controller are made (v1: per hierarchy). */
  parent?: string;
  /** When not usable: why, in a sentence. */
  reason?: string;
}

/** What devenv can do with cgroups on this machine for this user. Produced by `resolveCgroupSetup`. */
export interface CgroupSetup {
  mode: CgroupMode;
  /** The cgroup version devenv uses: 2 on v2, 1 on v1, hybrid and none. */
  version: 1 | 2;
  rootless: boolean;
  /** Always memory, cpu, pids in that order. */
  controllers: ControllerStatus[];
  /** The distinct parent directories of the usable controllers (v1: one per hierarchy, v2: at most one). */
  parents: string[];
  /** v2 only: the controllers to enable in `cgroup.subtree_control` of the parent levels devenv creates. */
  v2Controllers?: CgroupController[];
  /** v2 only: the highest directory devenv may write to (the hierarchy root as root, the delegated subtree rootless). */
  v2WritableRoot?: string;
  /** Shell commands (or steps) that make the unusable controllers usable, when some are not. */
  fix?: string;
}

/** One container cgroup found under devenv's parent(s). */
export interface CgroupEntry {
  id: string;
  paths: string[];
}

/**
 * Creates, inspects and removes the cgroups of containers. Implementations only ever touch directories under
 * devenv's own parent(s) (`CgroupSetup.parents`): never a cgroup of the machine's own processes.
 */
export interface CgroupManager {
  readonly setup: CgroupSetup;
  /**
   * Make the cgroup(s) of container `id` and write `limits` into them. Asking for a limit whose controller is
   * not usable throws CGROUP_UNAVAILABLE (with the commands that fix it); a failed write throws CGROUP_WRITE
   * after removing whatever this call made. With no usable controller and no limits: `{ paths: [] }`.
   */
  createContainerCgroup(id: string, limits: CgroupLimits): Promise<ContainerCgroup>;
  /** Whether the kernel's OOM killer killed a process in these cgroups (v1 `memory.oom_control`, v2 `memory.events`). */
  readOomKilled(paths: readonly string[]): Promise<boolean>;
  /** The pids in these cgroups (and their descendants). */
  listProcesses(paths: readonly string[]): Promise<number[]>;
  /**
   * Remove these container cgroups (rmdir only: children first, retrying EBUSY briefly while tasks drain).
   * Idempotent: missing directories are fine. Refuses paths that are not a container cgroup under devenv's parent.
   */
  removeContainerCgroup(paths: readonly string[]): Promise<void>;
  /** Container cgroups under devenv's parent(s) whose id is not in `knownIds` (all of them without it). */
  listOrphanCgroups(knownIds?: ReadonlySet<string>): Promise<CgroupEntry[]>;
}
