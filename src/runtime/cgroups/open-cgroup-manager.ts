import type { CgroupManager } from './cgroup-manager.js';
import { type CgroupSetupOptions, resolveCgroupSetup } from './cgroup-parent.js';
import { CgroupV1Manager } from './cgroup-v1.js';
import { CgroupV2Manager } from './cgroup-v2.js';

let defaultManager: CgroupManager | undefined;

/**
 * Detect the cgroup mode and the usable controllers and return the manager for it: v2 on a unified hierarchy,
 * v1 on v1, hybrid and machines without cgroups. The default (no options) is detected once per process: one
 * devenv command creates and removes a container's cgroups with the same view of the machine.
 */
export function openCgroupManager(options?: CgroupSetupOptions): CgroupManager {
  if (options === undefined && defaultManager) return defaultManager;
  const setup = resolveCgroupSetup(options ?? {});
  const manager = setup.version === 2 ? new CgroupV2Manager(setup) : new CgroupV1Manager(setup);
  if (options === undefined) defaultManager = manager;
  return manager;
}
