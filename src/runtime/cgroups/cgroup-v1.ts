import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { DevenvError, isErrnoLike } from '../../errors.js';
import {
  assertCgroupName,
  assertLimitsSupported,
  assertLimitsValid,
  listCgroupProcesses,
  listContainerCgroups,
  makeFreshContainerCgroup,
  readOomKilled,
  removeCgroupDirectory,
  removeContainerCgroupPaths,
  pathExists as exists,
  writeCgroupFile,
} from './cgroup-fs.js';
import type { CgroupController, CgroupEntry, CgroupLimits, CgroupManager, CgroupSetup, ContainerCgroup } from './cgroup-manager.js';
import { cpusToQuota } from './cpu-quota.js';

/**
 * cgroup v1 (also used in hybrid mode): one directory per hierarchy, `<hierarchy>/<parent>/<id>`, for the
 * hierarchies of the usable controllers among memory, cpu and pids.
 */
export class CgroupV1Manager implements CgroupManager {
  constructor(readonly setup: CgroupSetup) {}

  async createContainerCgroup(id: string, limits: CgroupLimits): Promise<ContainerCgroup> {
    assertCgroupName(id);
    assertLimitsValid(limits);
    assertLimitsSupported(this.setup, id, limits);
    // Controllers may share a hierarchy (cpu,cpuacct with memory on some systems): one directory per parent.
    const byParent = new Map<string, CgroupController[]>();
    for (const status of this.setup.controllers) {
      if (!status.usable || status.parent === undefined) continue;
      byParent.set(status.parent, [...(byParent.get(status.parent) ?? []), status.controller]);
    }
    const made: string[] = [];
    try {
      for (const [parent, controllers] of byParent) {
        if (!this.setup.rootless) {
          try {
            mkdirSync(parent, { recursive: true });
          } catch (error) {
            throw new DevenvError('CGROUP_WRITE', `create cgroup \`${parent}\`: ${isErrnoLike(error) ? error.code : 'error'}`, { kind: 'external', cause: error });
          }
        }
        const path = await makeFreshContainerCgroup(join(parent, id));
        made.push(path);
        await this.writeLimits(path, controllers, limits);
      }
    } catch (error) {
      for (const path of made.reverse()) await removeCgroupDirectory(path).catch(() => undefined);
      throw error;
    }
    return { version: 1, paths: made };
  }

  private async writeLimits(path: string, controllers: CgroupController[], limits: CgroupLimits): Promise<void> {
    if (controllers.includes('memory') && limits.memoryBytes !== undefined) {
      const value = String(limits.memoryBytes);
      await writeCgroupFile(path, 'memory.limit_in_bytes', value);
      // memory+swap = memory: no swap. Only present with swap accounting; must come after limit_in_bytes.
      if (await exists(join(path, 'memory.memsw.limit_in_bytes'))) await writeCgroupFile(path, 'memory.memsw.limit_in_bytes', value);
    }
    if (controllers.includes('cpu') && limits.cpus !== undefined) {
      const { quotaUs, periodUs } = cpusToQuota(limits.cpus);
      await writeCgroupFile(path, 'cpu.cfs_period_us', String(periodUs));
      await writeCgroupFile(path, 'cpu.cfs_quota_us', String(quotaUs));
    }
    if (controllers.includes('pids') && limits.pidsLimit !== undefined) {
      await writeCgroupFile(path, 'pids.max', String(limits.pidsLimit));
    }
  }

  readOomKilled(paths: readonly string[]): Promise<boolean> {
    return readOomKilled(paths);
  }

  listProcesses(paths: readonly string[]): Promise<number[]> {
    return listCgroupProcesses(paths);
  }

  removeContainerCgroup(paths: readonly string[]): Promise<void> {
    return removeContainerCgroupPaths(paths, this.setup.parents);
  }

  listOrphanCgroups(knownIds?: ReadonlySet<string>): Promise<CgroupEntry[]> {
    return listContainerCgroups(this.setup.parents, knownIds);
  }
}
