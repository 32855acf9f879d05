import type { CgroupManager } from './cgroup-manager.js';
import { type CgroupSetupOptions, resolveCgroupSetup } from './cgroup-parent.js';
import { CgroupV1Manager } from './cgroup-v1.js';
import { CgroupV2Manager } from './cgroup-v2.js';

/**
 * Detect the cgroup mode and the usable controllers now (nothing is cached across calls) and return the
 * manager for it: v2 on a unified hierarchy, v1 on v1, hybrid and machines without cgroups.
 */
export function openCgroupManager(options: CgroupSetupOptions = {}): CgroupManager {
  const setup = resolveCgroupSetup(options);
  return setup.version === 2 ? new CgroupV2Manager(setup) : new CgroupV1Manager(setup);
}
