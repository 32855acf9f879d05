import { chmodSync, chownSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { resolveCgroupSetup, validateCgroupParent } from '../../../../src/runtime/cgroups/cgroup-parent.js';
import {
  type FakeCgroupHost,
  HYBRID_MOUNTINFO,
  HYBRID_PROC_CGROUP,
  makeFakeCgroupHost,
  makeV1Hierarchies,
  V1_MOUNTINFO,
  V2_MOUNTINFO,
} from './fake-cgroup-host.js';

const isRoot = process.getuid?.() === 0;
// A uid that owns the "delegated" part of fake v2 trees: as root we chown to a fake user; otherwise we are that user.
const userUid = isRoot ? 4242 : (process.getuid?.() ?? 4242);

let host: FakeCgroupHost;
afterEach(() => host?.cleanup());

function hybridHost(): FakeCgroupHost {
  host = makeFakeCgroupHost(HYBRID_MOUNTINFO, HYBRID_PROC_CGROUP);
  makeV1Hierarchies(host, ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd', 'unified']);
  return host;
}

describe('resolveCgroupSetup on cgroup v1 / hybrid', () => {
  it('as root: memory, cpu and pids under `devenv` in each hierarchy (hybrid treated as v1)', () => {
    const h = hybridHost();
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 0, username: 'root', env: {} });
    expect(setup).toMatchObject({ mode: 'hybrid', version: 1, rootless: false });
    expect(setup.controllers).toEqual([
      { controller: 'memory', usable: true, parent: join(h.cgroupRoot, 'memory/devenv') },
      { controller: 'cpu', usable: true, parent: join(h.cgroupRoot, 'cpu/devenv') },
      { controller: 'pids', usable: true, parent: join(h.cgroupRoot, 'pids/devenv') },
    ]);
    expect(setup.parents).toHaveLength(3);
    expect(setup.fix).toBeUndefined();
  });

  it('honours DEVENV_CGROUP_PARENT and an explicit parent, relative to each hierarchy', () => {
    const h = hybridHost();
    const fromEnv = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 0, env: { DEVENV_CGROUP_PARENT: 'ci/devenv' } });
    expect(fromEnv.controllers[0]?.parent).toBe(join(h.cgroupRoot, 'memory/ci/devenv'));
    const explicit = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 0, env: { DEVENV_CGROUP_PARENT: 'x' }, parent: 'devenv-test-1' });
    expect(explicit.parents).toContain(join(h.cgroupRoot, 'pids/devenv-test-1'));
  });

  it('rootless without delegation: nothing usable, and the fix names the mkdir/chown commands', () => {
    const h = hybridHost();
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 1000, username: 'alice', env: {} });
    expect(setup.rootless).toBe(true);
    expect(setup.controllers.every((c) => !c.usable)).toBe(true);
    expect(setup.controllers[0]?.reason).toBe('no cgroup delegation for alice (no `devenv-alice` directory)');
    expect(setup.parents).toEqual([]);
    const dirs = ['memory', 'cpu', 'pids'].map((c) => join(h.cgroupRoot, c, 'devenv-alice')).join(' ');
    expect(setup.fix).toContain(`sudo mkdir -p ${dirs}`);
    expect(setup.fix).toContain(`sudo chown -R alice: ${dirs}`);
  });

  it('rootless with an administrator-made delegation directory', () => {
    const h = hybridHost();
    h.dir('memory/devenv-alice');
    h.dir('pids/devenv-alice');
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: isRoot ? 0 : 1000, username: 'alice', env: {} });
    if (!isRoot) {
      expect(setup.controllers.map((c) => [c.controller, c.usable])).toEqual([['memory', true], ['cpu', false], ['pids', true]]);
      expect(setup.fix).toContain(join(h.cgroupRoot, 'cpu/devenv-alice'));
      expect(setup.fix).not.toContain(join(h.cgroupRoot, 'memory/devenv-alice'));
    }
  });

  it.runIf(!isRoot)('rootless: a delegation directory that is not writable does not count', () => {
    const h = hybridHost();
    const dir = h.dir('memory/devenv-alice');
    chmodSync(dir, 0o555);
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 1000, username: 'alice', env: {} });
    expect(setup.controllers[0]).toMatchObject({ usable: false, reason: expect.stringContaining('is not writable by alice') });
    chmodSync(dir, 0o755);
  });

  it('finds cpu in a co-mounted cpu,cpuacct hierarchy', () => {
    host = makeFakeCgroupHost(V1_MOUNTINFO);
    makeV1Hierarchies(host, ['systemd', 'cpu,cpuacct', 'memory', 'pids']);
    const setup = resolveCgroupSetup({ cgroupRoot: host.cgroupRoot, procRoot: host.procRoot, uid: 0, env: {} });
    expect(setup.mode).toBe('v1');
    expect(setup.controllers[1]).toMatchObject({ controller: 'cpu', usable: true, parent: join(host.cgroupRoot, 'cpu,cpuacct/devenv') });
  });

  it('without any cgroup mount nothing is usable', () => {
    host = makeFakeCgroupHost('22 1 0:21 / / rw - ext4 /dev/sda1 rw\n');
    const setup = resolveCgroupSetup({ cgroupRoot: host.cgroupRoot, procRoot: host.procRoot, uid: 0, env: {} });
    expect(setup).toMatchObject({ mode: 'none', parents: [] });
    expect(setup.controllers.every((c) => !c.usable)).toBe(true);
  });

  it('rejects a parent that climbs out of the hierarchy', () => {
    expect(() => validateCgroupParent('../system.slice', 'DEVENV_CGROUP_PARENT')).toThrowError(DevenvError);
    expect(() => validateCgroupParent('/abs', 'x')).toThrowError(/relative cgroup path/);
    expect(() => validateCgroupParent('a//b', 'x')).toThrowError(DevenvError);
    expect(validateCgroupParent('ci/devenv-test-12', 'x')).toBe('ci/devenv-test-12');
    const h = hybridHost();
    expect(() => resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 0, env: { DEVENV_CGROUP_PARENT: '..' } })).toThrowError(
      /DEVENV_CGROUP_PARENT `\.\.`/,
    );
  });
});

describe('resolveCgroupSetup on cgroup v2', () => {
  it('as root: parent /sys/fs/cgroup/devenv with the controllers the root offers', () => {
    host = makeFakeCgroupHost(V2_MOUNTINFO);
    host.file('cgroup.controllers', 'cpuset cpu io memory hugetlb pids rdma misc\n');
    host.file('cgroup.subtree_control', '');
    const setup = resolveCgroupSetup({ cgroupRoot: host.cgroupRoot, procRoot: host.procRoot, uid: 0, env: {} });
    expect(setup).toMatchObject({
      mode: 'v2',
      version: 2,
      parents: [join(host.cgroupRoot, 'devenv')],
      v2Controllers: ['memory', 'cpu', 'pids'],
      v2WritableRoot: host.cgroupRoot,
    });
    expect(setup.controllers.every((c) => c.usable)).toBe(true);
  });

  function systemdUserHost(delegated: string): FakeCgroupHost {
    const service = `user.slice/user-${userUid}.slice/user@${userUid}.service`;
    host = makeFakeCgroupHost(V2_MOUNTINFO, `0::/${service}/app.slice/devenv.scope\n`);
    host.file('cgroup.controllers', 'cpuset cpu io memory pids\n');
    host.file('cgroup.subtree_control', 'cpu memory pids\n');
    host.dir(`${service}/app.slice/devenv.scope`);
    host.file(`${service}/cgroup.controllers`, `${delegated}\n`);
    host.file(`${service}/cgroup.subtree_control`, `${delegated}\n`);
    if (isRoot) {
      for (const path of [service, `${service}/cgroup.controllers`, `${service}/cgroup.subtree_control`, `${service}/app.slice`, `${service}/app.slice/devenv.scope`]) {
        chownSync(join(host.cgroupRoot, path), userUid, userUid);
      }
    }
    return host;
  }

  it('rootless: `devenv` under the delegated user@UID.service, with the controllers delegated to it', () => {
    const h = systemdUserHost('memory pids');
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: userUid, username: 'alice', env: {} });
    const expectedParent = isRoot ? join(h.cgroupRoot, `user.slice/user-${userUid}.slice/user@${userUid}.service/devenv`) : join(h.cgroupRoot, 'devenv');
    expect(setup.parents).toEqual([expectedParent]);
    if (isRoot) {
      expect(setup.controllers.map((c) => [c.controller, c.usable])).toEqual([['memory', true], ['cpu', false], ['pids', true]]);
      expect(setup.controllers[1]?.reason).toContain('not delegated');
      expect(setup.fix).toContain('Delegate=cpu cpuset io memory pids');
    }
  });

  it.runIf(isRoot)('rootless: our cgroup not owned by us means no delegation, with the systemd fix', () => {
    host = makeFakeCgroupHost(V2_MOUNTINFO, '0::/user.slice/user-4242.slice/session-3.scope\n');
    host.file('cgroup.controllers', 'cpu memory pids\n');
    host.dir('user.slice/user-4242.slice/session-3.scope');
    const setup = resolveCgroupSetup({ cgroupRoot: host.cgroupRoot, procRoot: host.procRoot, uid: 4242, username: 'alice', env: {} });
    expect(setup.parents).toEqual([]);
    expect(setup.controllers[0]?.reason).toContain('/user.slice/user-4242.slice/session-3.scope` is not owned by alice');
    expect(setup.fix).toContain('systemd-run --user --scope');
  });
});
