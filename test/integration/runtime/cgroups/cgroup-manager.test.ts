import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { basename, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CgroupManager } from '../../../../src/runtime/cgroups/cgroup-manager.js';
import { detectCgroupMounts } from '../../../../src/runtime/cgroups/detect-cgroup-mode.js';
import { openCgroupManager } from '../../../../src/runtime/cgroups/open-cgroup-manager.js';

const PARENT = `devenv-test-${process.pid}`;

function read(path: string, file: string): string {
  return readFileSync(join(path, file), 'utf8').trim();
}

/** What the native monitor does for a container's first process. */
function moveInto(paths: readonly string[], pid: number): void {
  for (const path of paths) writeFileSync(join(path, 'cgroup.procs'), String(pid));
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL'); // by this child's pid only
  await exited;
}

/** Every directory named PARENT in any hierarchy: must be none after the suite. */
function leftoverParents(): string[] {
  const mounts = detectCgroupMounts();
  const roots = [...mounts.v1.map((h) => h.mountPoint), ...(mounts.v2 ? [mounts.v2.mountPoint] : [])];
  return roots.filter((root) => existsSync(join(root, PARENT))).map((root) => join(root, PARENT));
}

describe('cgroups as root on this machine', () => {
  let manager: CgroupManager;
  const children: ChildProcess[] = [];

  // Real cgroups need root: fail every test loudly rather than skip them (a skipped test is not a passing one).
  beforeAll(() => {
    if (process.getuid?.() !== 0) {
      throw new Error(`test/integration/runtime/cgroups: these tests need root: run them as root, as CI does (uid is ${process.getuid?.()})`);
    }
  });

  afterAll(async () => {
    for (const child of children) await killAndWait(child);
    if (manager) {
      for (const entry of await manager.listOrphanCgroups()) await manager.removeContainerCgroup(entry.paths);
      // The test-only parents: only ever a directory named devenv-test-<our pid>.
      for (const parent of manager.setup.parents) if (basename(parent) === PARENT && existsSync(parent)) rmdirSync(parent);
    }
    expect(leftoverParents()).toEqual([]);
  });

  it('detects the mode and finds memory, cpu and pids usable', () => {
    manager = openCgroupManager({ parent: PARENT });
    expect(manager.setup.rootless).toBe(false);
    expect(manager.setup.controllers.filter((c) => c.usable).map((c) => c.controller)).toEqual(['memory', 'cpu', 'pids']);
    for (const parent of manager.setup.parents) expect(basename(parent)).toBe(PARENT);
  });

  it('creates a cgroup with limits, holds a process, reads back, and removes it without leftovers', async () => {
    const id = `limits-${process.pid}`;
    const { version, paths } = await manager.createContainerCgroup(id, { memoryBytes: 64 * 1024 ** 2, cpus: 0.5, pidsLimit: 32 });
    expect(version).toBe(manager.setup.version);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) expect(basename(path)).toBe(id);

    if (version === 1) {
      const memory = paths.find((p) => existsSync(join(p, 'memory.limit_in_bytes')))!;
      expect(read(memory, 'memory.limit_in_bytes')).toBe(String(64 * 1024 ** 2));
      if (existsSync(join(memory, 'memory.memsw.limit_in_bytes'))) expect(read(memory, 'memory.memsw.limit_in_bytes')).toBe(String(64 * 1024 ** 2));
      const cpu = paths.find((p) => existsSync(join(p, 'cpu.cfs_quota_us')))!;
      expect(read(cpu, 'cpu.cfs_quota_us')).toBe('50000');
      expect(read(cpu, 'cpu.cfs_period_us')).toBe('100000');
      const pids = paths.find((p) => existsSync(join(p, 'pids.max')))!;
      expect(read(pids, 'pids.max')).toBe('32');
    } else {
      const [path] = paths as [string];
      expect(read(path, 'memory.max')).toBe(String(64 * 1024 ** 2));
      if (existsSync(join(path, 'memory.swap.max'))) expect(read(path, 'memory.swap.max')).toBe('0');
      expect(read(path, 'cpu.max')).toBe('50000 100000');
      expect(read(path, 'pids.max')).toBe('32');
    }

    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(child);
    await once(child, 'spawn');
    moveInto(paths, child.pid!);
    expect(await manager.listProcesses(paths)).toEqual([child.pid]);
    expect(readFileSync(`/proc/${child.pid}/cgroup`, 'utf8')).toContain(`/${PARENT}/${id}`);
    expect(await manager.readOomKilled(paths)).toBe(false);
    expect((await manager.listOrphanCgroups()).map((e) => e.id)).toEqual([id]);

    await killAndWait(child);
    await manager.removeContainerCgroup(paths);
    for (const path of paths) expect(existsSync(path)).toBe(false);
    expect(await manager.listOrphanCgroups()).toEqual([]);
    await manager.removeContainerCgroup(paths); // idempotent
  });

  it('reports an OOM kill', async () => {
    const id = `oom-${process.pid}`;
    const { paths } = await manager.createContainerCgroup(id, { memoryBytes: 16 * 1024 ** 2 });
    // Starts allocating only once it is inside the cgroup (after a line on stdin).
    const child = spawn(process.execPath, ['-e', "process.stdin.once('data',()=>{const a=[];for(;;)a.push(Buffer.alloc(1<<20,1))})"], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    children.push(child);
    await once(child, 'spawn');
    moveInto(paths, child.pid!);
    const exited = once(child, 'exit');
    child.stdin!.write('go\n');
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');
    expect(await manager.readOomKilled(paths)).toBe(true);
    await manager.removeContainerCgroup(paths);
    for (const path of paths) expect(existsSync(path)).toBe(false);
  });

  it('removes what it made when the kernel refuses a limit', async () => {
    const id = `refused-${process.pid}`;
    // pids.max above PID_MAX_LIMIT (4194304) is EINVAL; it is written last, after memory and cpu.
    await expect(manager.createContainerCgroup(id, { memoryBytes: 64 * 1024 ** 2, cpus: 1, pidsLimit: 10_000_000 })).rejects.toMatchObject({
      code: 'CGROUP_WRITE',
      message: expect.stringContaining('pids.max'),
    });
    for (const parent of manager.setup.parents) expect(existsSync(join(parent, id))).toBe(false);
    expect(await manager.listOrphanCgroups()).toEqual([]);
  });

  it('replaces an empty cgroup left by a killed run, refuses one that still holds a process', async () => {
    const id = `stale-${process.pid}`;
    const first = await manager.createContainerCgroup(id, { pidsLimit: 8 });
    // the monitor was killed: nobody removed `first`
    const second = await manager.createContainerCgroup(id, { pidsLimit: 9 });
    expect(second.paths).toEqual(first.paths);
    const pids = second.paths.find((p) => existsSync(join(p, 'pids.max')))!;
    expect(read(pids, 'pids.max')).toBe('9');

    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(child);
    await once(child, 'spawn');
    moveInto(second.paths, child.pid!);
    await expect(manager.createContainerCgroup(id, {})).rejects.toMatchObject({
      code: 'CGROUP_WRITE',
      message: expect.stringContaining(`holds processes ${child.pid}`),
    });
    expect(await manager.listProcesses(second.paths)).toEqual([child.pid]);
    await killAndWait(child);
    await manager.removeContainerCgroup(second.paths);
    for (const path of second.paths) expect(existsSync(path)).toBe(false);
  });

  it('never touches the cgroups of the machine itself', async () => {
    const own = readFileSync('/proc/self/cgroup', 'utf8');
    const ownDirs = readdirSync(manager.setup.parents[0]!);
    expect(ownDirs).toEqual(expect.not.arrayContaining(['process_api']));
    await expect(manager.removeContainerCgroup(['/sys/fs/cgroup/memory/process_api'])).rejects.toThrowError(/refusing to remove/);
    expect(readFileSync('/proc/self/cgroup', 'utf8')).toBe(own);
  });
});
