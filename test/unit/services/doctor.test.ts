import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { formatDoctorReport } from '../../../src/commands/doctor.js';
import {
  compareVersions,
  type DoctorCheck,
  type DoctorProbes,
  findPackageRoot,
  parseKernelVersion,
  type ProbeResult,
  runDoctor,
  suggestSubIdRange,
  summarizeChecks,
} from '../../../src/services/doctor.js';
import { parseSubIdFile } from '../../../src/runtime/idmap.js';
import { type FakeCgroupHost, HYBRID_MOUNTINFO, HYBRID_PROC_CGROUP, makeFakeCgroupHost, makeV1Hierarchies } from '../runtime/cgroups/fake-cgroup-host.js';

describe('kernel versions', () => {
  it('parses releases with distribution suffixes', () => {
    expect(parseKernelVersion('6.18.44-fc-v669')).toEqual([6, 18, 44]);
    expect(parseKernelVersion('5.11.0-1028-azure')).toEqual([5, 11, 0]);
    expect(parseKernelVersion('4.19')).toEqual([4, 19, 0]);
    expect(parseKernelVersion('weird')).toEqual([]);
  });

  it('compares numerically, not as text', () => {
    expect(compareVersions([5, 11], [5, 11])).toBe(0);
    expect(compareVersions([5, 10, 200], [5, 11])).toBeLessThan(0);
    expect(compareVersions([5, 9], [5, 11])).toBeLessThan(0);
    expect(compareVersions([6, 1], [5, 11])).toBeGreaterThan(0);
    expect(compareVersions([5, 11, 1], [5, 11])).toBeGreaterThan(0);
  });
});

describe('suggestSubIdRange', () => {
  it('suggests 100000-165535, or the first range after the ones in use', () => {
    expect(suggestSubIdRange([])).toBe('100000-165535');
    expect(suggestSubIdRange(parseSubIdFile('alice:100000:65536\n1001:165536:65536\ncarol:231072:1000\n'))).toBe('232072-297607');
  });
});

describe('summarizeChecks', () => {
  const check = (status: DoctorCheck['status']): DoctorCheck => ({ id: status, title: status, status, detail: '' });
  it('is the worst status', () => {
    expect(summarizeChecks([])).toBe('ok');
    expect(summarizeChecks([check('ok'), check('ok')])).toBe('ok');
    expect(summarizeChecks([check('ok'), check('warn')])).toBe('warn');
    expect(summarizeChecks([check('warn'), check('fail'), check('ok')])).toBe('fail');
  });
});

describe('findPackageRoot', () => {
  it('finds the devenv package from a module URL', () => {
    expect(findPackageRoot(import.meta.url)).toBe(join(dirname(new URL(import.meta.url).pathname), '..', '..', '..'));
  });
});

/** A fake machine: /proc, /etc, /dev, a cgroup tree, a package root, and probes answering from tables. */
interface FakeMachine {
  host: FakeCgroupHost;
  etcRoot: string;
  devRoot: string;
  packageRoot: string;
  probes: DoctorProbes;
  calls: string[];
  cleanup(): void;
}

function makeFakeMachine(options: { kernel: string; tools: string[]; failing?: string[]; built?: boolean }): FakeMachine {
  const host = makeFakeCgroupHost(HYBRID_MOUNTINFO, HYBRID_PROC_CGROUP);
  makeV1Hierarchies(host, ['cpu', 'memory', 'pids', 'unified']);
  const write = (path: string, content: string): void => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  };
  write(join(host.procRoot, 'sys/kernel/osrelease'), `${options.kernel}\n`);
  write(join(host.procRoot, 'sys/user/max_user_namespaces'), '63000\n');
  const base = mkdtempSync(join(tmpdir(), 'devenv-doctor-unit-'));
  const etcRoot = join(base, 'etc');
  write(join(etcRoot, 'subuid'), 'alice:100000:65536\n');
  write(join(etcRoot, 'subgid'), 'alice:100000:65536\n');
  const devRoot = join(base, 'dev');
  mkdirSync(devRoot);
  const packageRoot = join(base, 'pkg');
  if (options.built) {
    write(join(packageRoot, 'native/build/Release/devenv-runtime'), '#!/bin/sh\n');
    chmodSync(join(packageRoot, 'native/build/Release/devenv-runtime'), 0o755);
    write(join(packageRoot, 'native/build/Release/devenv_native.node'), '');
  }
  const calls: string[] = [];
  const probes: DoctorProbes = {
    which: (name) => (options.tools.includes(name) ? `/fake/bin/${name}` : undefined),
    run: (command, args): ProbeResult => {
      const line = [command, ...args].join(' ');
      calls.push(line);
      if (command === 'getcap') return { ok: true, stdout: `${args[0]} cap_setuid,cap_setgid=ep\n`, message: '' };
      const fails = (options.failing ?? []).some((f) => line.includes(f));
      return fails ? { ok: false, stdout: '', message: 'unshare: write failed /proc/self/uid_map: Operation not permitted' } : { ok: true, stdout: '', message: '' };
    },
  };
  return {
    host,
    etcRoot,
    devRoot,
    packageRoot,
    probes,
    calls,
    cleanup: () => {
      host.cleanup();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

describe('runDoctor on a fake machine', () => {
  let machine: FakeMachine | undefined;
  afterEach(() => machine?.cleanup());

  const run = (m: FakeMachine, who: { uid: number; username: string }) =>
    runDoctor({
      ...who,
      env: { PATH: '/fake/bin' },
      procRoot: m.host.procRoot,
      cgroupRoot: m.host.cgroupRoot,
      etcRoot: m.etcRoot,
      devRoot: m.devRoot,
      packageRoot: m.packageRoot,
      probes: m.probes,
    });
  const byId = (checks: DoctorCheck[], id: string): DoctorCheck => checks.find((c) => c.id === id)!;

  it('rootless on an old kernel without delegation, sub-ids, helpers or a built runtime', async () => {
    machine = makeFakeMachine({ kernel: '5.10.0-28-amd64', tools: ['unshare'], failing: ['--mount'] });
    const report = await run(machine, { uid: 1001, username: 'dvtest' });
    expect(report.checks.map((c) => c.id)).toEqual(['kernel', 'userns', 'overlay', 'cgroups', 'idmap-tools', 'subids', 'network', 'fuse-overlayfs', 'native-runtime']);
    expect(report.outcome).toBe('fail');
    expect(byId(report.checks, 'kernel')).toMatchObject({ status: 'warn', detail: expect.stringContaining('older than 5.11') });
    expect(byId(report.checks, 'userns').status).toBe('ok');
    expect(byId(report.checks, 'overlay')).toMatchObject({ status: 'fail', detail: expect.stringContaining('Operation not permitted') });
    const cgroups = byId(report.checks, 'cgroups');
    expect(cgroups.status).toBe('warn');
    expect(cgroups.detail).toContain('hybrid (treated as v1), rootless; usable: none');
    expect(cgroups.detail).toContain('memory, cpu, pids: no cgroup delegation for dvtest');
    expect(cgroups.fix).toContain(`sudo chown -R dvtest: ${join(machine.host.cgroupRoot, 'memory/devenv-dvtest')}`);
    expect(byId(report.checks, 'idmap-tools')).toMatchObject({ status: 'fail', fix: expect.stringContaining('apt-get install uidmap') });
    expect(byId(report.checks, 'subids')).toMatchObject({
      status: 'fail',
      fix: 'sudo usermod --add-subuids 165536-231071 --add-subgids 165536-231071 dvtest',
    });
    expect(byId(report.checks, 'network')).toMatchObject({ status: 'warn', fix: 'sudo apt-get install slirp4netns' });
    expect(byId(report.checks, 'fuse-overlayfs')).toMatchObject({ status: 'warn', fix: expect.stringContaining('apt-get install fuse-overlayfs') });
    expect(byId(report.checks, 'native-runtime')).toMatchObject({ status: 'fail', fix: expect.stringContaining('npm rebuild') });
    // the probes were the cheap, real-world ones
    expect(machine.calls[0]).toMatch(/^unshare --user --map-root-user --mount sh -c mount -t overlay .*userxattr/);
    expect(machine.calls).toContain('unshare --user --map-root-user true');
  });

  it('a well set-up rootless user passes every check', async () => {
    machine = makeFakeMachine({ kernel: '6.8.0', tools: ['unshare', 'newuidmap', 'newgidmap', 'getcap', 'slirp4netns', 'fuse-overlayfs'], built: true });
    for (const c of ['memory', 'cpu', 'pids']) machine.host.dir(`${c}/devenv-alice`);
    writeFileSync(join(machine.devRoot, 'fuse'), '');
    const report = await run(machine, { uid: process.getuid?.() === 0 ? 0 : 1000, username: 'alice' });
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(report.outcome).toBe('ok');
    expect(byId(report.checks, 'idmap-tools').detail).toContain('cap_setuid');
  });

  it('as root, sub-ids and id-map helpers are not needed and a failed user namespace is only a warning', async () => {
    machine = makeFakeMachine({ kernel: '6.8.0', tools: ['unshare', 'slirp4netns'], failing: ['unshare'], built: true });
    const report = await run(machine, { uid: 0, username: 'root' });
    expect(byId(report.checks, 'subids')).toMatchObject({ status: 'ok', detail: expect.stringContaining('not needed as root') });
    expect(byId(report.checks, 'idmap-tools')).toMatchObject({ status: 'ok', detail: expect.stringContaining('not needed as root') });
    expect(byId(report.checks, 'userns').status).toBe('warn');
    expect(byId(report.checks, 'cgroups')).toMatchObject({ status: 'ok', detail: expect.stringContaining(join(machine.host.cgroupRoot, 'memory/devenv')) });
    expect(report.outcome).toBe('warn');
  });

  it('finds sub-id ranges listed by uid, and warns when they hold fewer than 65536 ids', async () => {
    machine = makeFakeMachine({ kernel: '6.8.0', tools: ['unshare'] });
    writeFileSync(join(machine.etcRoot, 'subuid'), '# by uid\n1500:200000:65536\n');
    writeFileSync(join(machine.etcRoot, 'subgid'), 'bob:200000:1000\n');
    const report = await run(machine, { uid: 1500, username: 'bob' });
    expect(byId(report.checks, 'subids')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('subuid 200000-265535, subgid 200000-200999: fewer than 65536 ids'),
      fix: 'sudo usermod --add-subuids 265536-331071 --add-subgids 265536-331071 bob',
    });
  });

  it('disabled user namespaces fail with the sysctl fix', async () => {
    machine = makeFakeMachine({ kernel: '6.8.0', tools: ['unshare'], failing: ['unshare'] });
    writeFileSync(join(machine.host.procRoot, 'sys/user/max_user_namespaces'), '0\n');
    const report = await run(machine, { uid: 1000, username: 'alice' });
    expect(byId(report.checks, 'userns')).toMatchObject({ status: 'fail', fix: 'sudo sysctl -w user.max_user_namespaces=28633' });
  });
});

describe('formatDoctorReport', () => {
  it('marks each check and prints the fixes of warnings and failures', () => {
    const text = formatDoctorReport({
      outcome: 'fail',
      checks: [
        { id: 'a', title: 'Short', status: 'ok', detail: 'fine', fix: 'never shown' },
        { id: 'b', title: 'Longer title', status: 'warn', detail: 'meh', fix: 'line one\nline two' },
        { id: 'c', title: 'Third', status: 'fail', detail: 'broken', fix: 'repair it' },
      ],
    });
    expect(text).toBe(
      [
        '✔ Short         fine',
        '! Longer title  meh',
        '    fix: line one',
        '         line two',
        '✘ Third         broken',
        '    fix: repair it',
        '',
        '1 check ok, 1 warning, 1 failure',
      ].join('\n'),
    );
  });
});
