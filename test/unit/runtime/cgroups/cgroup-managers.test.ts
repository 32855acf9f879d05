import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { openCgroupManager } from '../../../../src/runtime/cgroups/open-cgroup-manager.js';
import { readOomKilled } from '../../../../src/runtime/cgroups/cgroup-fs.js';
import { type FakeCgroupHost, HYBRID_MOUNTINFO, HYBRID_PROC_CGROUP, makeFakeCgroupHost, makeV1Hierarchies, V2_MOUNTINFO } from './fake-cgroup-host.js';

let host: FakeCgroupHost;
afterEach(() => host?.cleanup());

function read(path: string): string {
  return readFileSync(path, 'utf8');
}

function hybrid(): FakeCgroupHost {
  host = makeFakeCgroupHost(HYBRID_MOUNTINFO, HYBRID_PROC_CGROUP);
  makeV1Hierarchies(host, ['cpu', 'memory', 'pids', 'unified']);
  return host;
}

describe('CgroupV1Manager on a fake tree', () => {
  it('creates one directory per hierarchy and writes the limits', async () => {
    const h = hybrid();
    const manager = openCgroupManager({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 0, env: {} });
    const cgroup = await manager.createContainerCgroup('c1', { memoryBytes: 64 * 1024 ** 2, cpus: 1.5, pidsLimit: 100 });
    const [memory, cpu, pids] = ['memory', 'cpu', 'pids'].map((c) => join(h.cgroupRoot, c, 'devenv', 'c1'));
    expect(cgroup).toEqual({ version: 1, paths: [memory, cpu, pids] });
    expect(read(join(memory!, 'memory.limit_in_bytes'))).toBe('67108864');
    expect(read(join(cpu!, 'cpu.cfs_period_us'))).toBe('100000');
    expect(read(join(cpu!, 'cpu.cfs_quota_us'))).toBe('150000');
    expect(read(join(pids!, 'pids.max'))).toBe('100');
    // the fake tree has no memsw file (no swap accounting): it must not be invented
    expect(existsSync(join(memory!, 'memory.memsw.limit_in_bytes'))).toBe(false);
  });

  it('without limits still makes the cgroups (for OOM and process tracking), and removes them idempotently', async () => {
    const h = hybrid();
    const manager = openCgroupManager({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 0, env: {} });
    const { paths } = await manager.createContainerCgroup('c2', {});
    expect(paths).toHaveLength(3);
    expect(await manager.listOrphanCgroups()).toEqual([{ id: 'c2', paths: expect.arrayContaining(paths) }]);
    expect(await manager.listOrphanCgroups(new Set(['c2']))).toEqual([]);
    await manager.removeContainerCgroup(paths);
    await manager.removeContainerCgroup(paths);
    expect(paths.some((p) => existsSync(p))).toBe(false);
    expect(await manager.listOrphanCgroups()).toEqual([]);
  });

  it('removes what it made when a later hierarchy fails, and leaves what it did not make', async () => {
    const h = hybrid();
    const busy = h.dir('pids/devenv/c3');
    h.file('pids/devenv/c3/cgroup.procs', '4242\n');
    const manager = openCgroupManager({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 0, env: {} });
    await expect(manager.createContainerCgroup('c3', {})).rejects.toMatchObject({
      code: 'CGROUP_WRITE',
      message: expect.stringContaining('already exists and holds processes 4242'),
    });
    expect(existsSync(join(h.cgroupRoot, 'memory/devenv/c3'))).toBe(false);
    expect(existsSync(join(h.cgroupRoot, 'cpu/devenv/c3'))).toBe(false);
    expect(existsSync(join(busy, 'cgroup.procs'))).toBe(true);
  });

  it('replaces an empty cgroup a killed earlier run of the same container left behind', async () => {
    const h = hybrid();
    const stale = h.dir('memory/devenv/c7');
    const manager = openCgroupManager({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 0, env: {} });
    const { paths } = await manager.createContainerCgroup('c7', {});
    expect(paths).toContain(stale);
    await manager.removeContainerCgroup(paths);
  });

  it('refuses to remove anything that is not a container cgroup under its parent', async () => {
    const h = hybrid();
    const machine = h.dir('memory/process_api/abc');
    const manager = openCgroupManager({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 0, env: {} });
    await expect(manager.removeContainerCgroup([machine])).rejects.toThrowError(/refusing to remove cgroup/);
    await expect(manager.removeContainerCgroup([join(h.cgroupRoot, 'memory/devenv')])).rejects.toThrowError(DevenvError);
    await expect(manager.removeContainerCgroup([join(h.cgroupRoot, 'memory/devenv/../process_api')])).rejects.toThrowError(DevenvError);
    expect(existsSync(machine)).toBe(true);
  });

  it('rootless without delegation: no cgroup without limits, CGROUP_UNAVAILABLE with the fix when a limit is asked', async () => {
    const h = hybrid();
    const manager = openCgroupManager({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 1000, username: 'alice', env: {} });
    expect(await manager.createContainerCgroup('c4', {})).toEqual({ version: 1, paths: [] });
    try {
      await manager.createContainerCgroup('c4', { memoryBytes: 64 * 1024 ** 2 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DevenvError);
      const e = error as DevenvError;
      expect(e.code).toBe('CGROUP_UNAVAILABLE');
      expect(e.message).toContain('container `c4`: cannot apply resource limits (cgroup hybrid, rootless): memory limit: no cgroup delegation for alice');
      expect(e.hint).toContain(`sudo mkdir -p ${join(h.cgroupRoot, 'memory/devenv-alice')}`);
      expect(e.hint).toContain('sudo chown -R alice:');
    }
    expect(existsSync(join(h.cgroupRoot, 'memory/devenv-alice'))).toBe(false);
  });

  it('rejects ids that are not one plain path segment', async () => {
    const h = hybrid();
    const manager = openCgroupManager({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 0, env: {} });
    await expect(manager.createContainerCgroup('../evil', {})).rejects.toThrowError(DevenvError);
    await expect(manager.createContainerCgroup('a/b', {})).rejects.toThrowError(DevenvError);
    await expect(manager.createContainerCgroup('ok', { pidsLimit: 0 })).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('CgroupV2Manager on a fake tree', () => {
  it('as root: enables controllers in the levels it creates, then writes memory.max, cpu.max, pids.max', async () => {
    host = makeFakeCgroupHost(V2_MOUNTINFO);
    host.file('cgroup.controllers', 'cpuset cpu io memory pids\n');
    host.file('cgroup.subtree_control', 'memory\n');
    const manager = openCgroupManager({ cgroupRoot: host.cgroupRoot, procRoot: host.procRoot, uid: 0, env: {} });
    const cgroup = await manager.createContainerCgroup('c5', { memoryBytes: 128 * 1024 ** 2, cpus: 0.5, pidsLimit: 64 });
    const path = join(host.cgroupRoot, 'devenv', 'c5');
    expect(cgroup).toEqual({ version: 2, paths: [path] });
    // only the missing controllers are written to a level that already had some enabled
    expect(read(join(host.cgroupRoot, 'cgroup.subtree_control'))).toBe('+cpu +pids');
    expect(read(join(host.cgroupRoot, 'devenv', 'cgroup.subtree_control'))).toBe('+memory +cpu +pids');
    expect(read(join(path, 'memory.max'))).toBe('134217728');
    expect(read(join(path, 'cpu.max'))).toBe('50000 100000');
    expect(read(join(path, 'pids.max'))).toBe('64');
    rmSync(path, { recursive: true });
  });

  it('refuses a container cgroup that still holds processes', async () => {
    host = makeFakeCgroupHost(V2_MOUNTINFO);
    host.file('cgroup.controllers', 'cpu memory pids\n');
    host.file('cgroup.subtree_control', 'cpu memory pids\n');
    host.file('devenv/cgroup.controllers', 'cpu memory pids\n');
    host.file('devenv/cgroup.subtree_control', 'cpu memory pids\n');
    host.file('devenv/c6/cgroup.procs', '77\n');
    const manager = openCgroupManager({ cgroupRoot: host.cgroupRoot, procRoot: host.procRoot, uid: 0, env: {} });
    await expect(manager.createContainerCgroup('c6', { pidsLimit: 10 })).rejects.toMatchObject({ code: 'CGROUP_WRITE' });
    expect(existsSync(join(host.cgroupRoot, 'devenv/c6/cgroup.procs'))).toBe(true);
    expect(existsSync(join(host.cgroupRoot, 'devenv/c6/pids.max'))).toBe(false);
  });
});

describe('readOomKilled', () => {
  it('reads oom_kill from v2 memory.events and v1 memory.oom_control', async () => {
    host = makeFakeCgroupHost(V2_MOUNTINFO);
    const v2 = host.dir('a');
    host.file('a/memory.events', 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n');
    const v1 = host.dir('b');
    host.file('b/memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
    expect(await readOomKilled([v2])).toBe(true);
    expect(await readOomKilled([v1])).toBe(false);
    expect(await readOomKilled([join(host.cgroupRoot, 'missing')])).toBe(false);
  });
});
