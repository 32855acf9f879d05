import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

import { DevenvError } from '../../errors.js';
import {
  assertCgroupName,
  assertLimitsSupported,
  assertLimitsValid,
  listCgroupProcesses,
  listContainerCgroups,
  makeCgroupDirectory,
  makeFreshContainerCgroup,
  readOomKilled,
  removeCgroupDirectory,
  removeContainerCgroupPaths,
  pathExists as exists,
  writeCgroupFile,
} from './cgroup-fs.js';
import type { CgroupEntry, CgroupLimits, CgroupManager, CgroupSetup, ContainerCgroup } from './cgroup-manager.js';
import { cpusToQuota } from './cpu-quota.js';

/**
 * cgroup v2: one directory `<parent>/<id>`. The parent levels below the writable root (the hierarchy root as
 * root, the delegated subtree rootless) are created on demand with the usable controllers enabled in each
 * level's `cgroup.subtree_control`, so the container cgroup gets memory, cpu and pids.
 */
export class CgroupV2Manager implements CgroupManager {
  constructor(readonly setup: CgroupSetup) {}

  async createContainerCgroup(id: string, limits: CgroupLimits): Promise<ContainerCgroup> {
    assertCgroupName(id);
    assertLimitsValid(limits);
    assertLimitsSupported(this.setup, id, limits);
    const parent = this.setup.parents[0];
    if (parent === undefined || this.setup.v2WritableRoot === undefined) return { version: 2, paths: [] };
    await this.prepareParent(parent, this.setup.v2WritableRoot);
    const path = await makeFreshContainerCgroup(join(parent, id));
    try {
      await this.writeLimits(path, limits);
    } catch (error) {
      await removeCgroupDirectory(path).catch(() => undefined);
      throw error;
    }
    return { version: 2, paths: [path] };
  }

  /** From the writable root down to `parent`: enable controllers, then make the next level. */
  private async prepareParent(parent: string, writableRoot: string): Promise<void> {
    const rest = relative(writableRoot, parent);
    if (rest.startsWith('..')) throw new DevenvError('INTERNAL', `cgroup parent \`${parent}\` is outside \`${writableRoot}\``, { kind: 'bug' });
    const levels = [writableRoot];
    for (const segment of rest === '' ? [] : rest.split(sep)) levels.push(join(levels[levels.length - 1] as string, segment));
    for (const level of levels) {
      await makeCgroupDirectory(level);
      await this.enableControllers(level);
    }
  }

  private async enableControllers(level: string): Promise<void> {
    const wanted = this.setup.v2Controllers ?? [];
    if (wanted.length === 0) return;
    let current = '';
    try {
      current = readFileSync(join(level, 'cgroup.subtree_control'), 'utf8');
    } catch {
      // not readable: treated as nothing enabled
    }
    const enabled = current.trim().split(/\s+/);
    const missing = wanted.filter((c) => !enabled.includes(c));
    // Write only what is missing, so levels that are already set up (the root, systemd's slices) are not touched.
    if (missing.length > 0) await writeCgroupFile(level, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
  }

  private async writeLimits(path: string, limits: CgroupLimits): Promise<void> {
    if (limits.memoryBytes !== undefined) {
      await writeCgroupFile(path, 'memory.max', String(limits.memoryBytes));
      // No swap on top of the memory limit, where the kernel accounts swap.
      if (await exists(join(path, 'memory.swap.max'))) await writeCgroupFile(path, 'memory.swap.max', '0');
    }
    if (limits.cpus !== undefined) {
      const { quotaUs, periodUs } = cpusToQuota(limits.cpus);
      await writeCgroupFile(path, 'cpu.max', `${quotaUs} ${periodUs}`);
    }
    if (limits.pidsLimit !== undefined) await writeCgroupFile(path, 'pids.max', String(limits.pidsLimit));
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
