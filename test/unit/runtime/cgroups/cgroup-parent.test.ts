import { chmodSync } from 'node:fs';
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
// The simulated rootless user, who owns the directories delegated to them in the fake trees: as root, a fake user the
// fixtures chown to (`host.own`); otherwise the current user, who owns everything it creates. Every test asserts the
// same either way: devenv judges writability for the uid it resolves the setup for, not for the calling process.
const ALICE = isRoot ? 4242 : process.getuid!();
const ALICE_GID = isRoot ? 4242 : process.getgid!();
// Another rootless user, who owns nothing in the fake trees whoever runs the tests.
const BOB = ALICE + 1;

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

  it('as root: permission bits do not hold root back (only a read-only file system would)', () => {
    const h = hybridHost();
    const dir = h.dir('memory/devenv');
    h.own(['memory/devenv'], ALICE, ALICE_GID);
    chmodSync(dir, 0o555);
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: 0, username: 'root', env: {} });
    expect(setup.controllers[0]).toEqual({ controller: 'memory', usable: true, parent: dir });
    expect(setup.parents).toHaveLength(3);
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
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: ALICE, username: 'alice', env: {} });
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
    h.own(['memory/devenv-alice', 'pids/devenv-alice'], ALICE, ALICE_GID);
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: ALICE, username: 'alice', env: {} });
    expect(setup.rootless).toBe(true);
    expect(setup.controllers.map((c) => [c.controller, c.usable])).toEqual([['memory', true], ['cpu', false], ['pids', true]]);
    expect(setup.parents).toEqual([join(h.cgroupRoot, 'memory/devenv-alice'), join(h.cgroupRoot, 'pids/devenv-alice')]);
    expect(setup.fix).toContain(join(h.cgroupRoot, 'cpu/devenv-alice'));
    expect(setup.fix).not.toContain(join(h.cgroupRoot, 'memory/devenv-alice'));
  });

  it('rootless: a delegation directory that is not writable does not count', () => {
    const h = hybridHost();
    const dir = h.dir('memory/devenv-alice');
    h.own(['memory/devenv-alice'], ALICE, ALICE_GID);
    chmodSync(dir, 0o555);
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: ALICE, username: 'alice', env: {} });
    expect(setup.controllers[0]).toMatchObject({
      controller: 'memory',
      usable: false,
      parent: dir,
      reason: `\`${dir}\` is not writable by alice`,
    });
    expect(setup.parents).toEqual([]);
    expect(setup.fix).toContain(`sudo chown -R alice: ${dir}`);
  });

  it("rootless: another user's delegation directory does not count", () => {
    const h = hybridHost();
    const dir = h.dir('memory/devenv-alice');
    h.own(['memory/devenv-alice'], ALICE, ALICE_GID);
    // bob asks for alice's directory (e.g. DEVENV_CGROUP_PARENT=devenv-alice): 0755 and alice's, so not bob's to write
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: BOB, username: 'bob', env: {}, parent: 'devenv-alice' });
    expect(setup.controllers[0]).toMatchObject({ controller: 'memory', usable: false, reason: `\`${dir}\` is not writable by bob` });
    expect(setup.parents).toEqual([]);
  });

  it('rootless: group write permission counts for the group given as gid only, other write permission for anyone', () => {
    const h = hybridHost();
    const dir = h.dir('memory/devenv-alice');
    h.own(['memory/devenv-alice'], ALICE, ALICE_GID);
    const memoryFor = (uid: number, gid?: number) =>
      resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid, ...(gid === undefined ? {} : { gid }), username: 'bob', env: {}, parent: 'devenv-alice' })
        .controllers[0];
    chmodSync(dir, 0o775);
    expect(memoryFor(BOB, ALICE_GID)).toMatchObject({ controller: 'memory', usable: true, parent: dir });
    expect(memoryFor(BOB, ALICE_GID + 1)).toMatchObject({ controller: 'memory', usable: false });
    expect(memoryFor(BOB)).toMatchObject({ controller: 'memory', usable: false }); // bob is not the current user: no default gid
    chmodSync(dir, 0o757);
    expect(memoryFor(BOB)).toMatchObject({ controller: 'memory', usable: true, parent: dir });
    expect(memoryFor(BOB, ALICE_GID)).toMatchObject({ controller: 'memory', usable: false }); // the group class applies, as in the kernel
    chmodSync(dir, 0o575);
    expect(memoryFor(ALICE, ALICE_GID)).toMatchObject({ controller: 'memory', usable: false }); // the owner class applies to the owner
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

  /**
   * A systemd user session: our cgroup is a scope under user@ALICE.service, which systemd delegated to alice (her
   * directory and files, with the `delegated` controllers); the levels above are not alice's to write (root's in a
   * real system and when the tests run as root; made read-only here so that this holds for any user running them).
   */
  function systemdUserHost(delegated: string): FakeCgroupHost {
    const slice = `user.slice/user-${ALICE}.slice`;
    const service = `${slice}/user@${ALICE}.service`;
    host = makeFakeCgroupHost(V2_MOUNTINFO, `0::/${service}/app.slice/devenv.scope\n`);
    host.file('cgroup.controllers', 'cpuset cpu io memory pids\n');
    host.file('cgroup.subtree_control', 'cpu memory pids\n');
    host.dir(`${service}/app.slice/devenv.scope`);
    host.file(`${service}/cgroup.controllers`, `${delegated}\n`);
    host.file(`${service}/cgroup.subtree_control`, `${delegated}\n`);
    host.own([service, `${service}/cgroup.controllers`, `${service}/cgroup.subtree_control`, `${service}/app.slice`, `${service}/app.slice/devenv.scope`], ALICE, ALICE_GID);
    for (const level of [slice, 'user.slice', '.']) chmodSync(join(host.cgroupRoot, level), 0o555);
    return host;
  }

  it('rootless: `devenv` under the delegated user@UID.service, with the controllers delegated to it', () => {
    const h = systemdUserHost('memory pids');
    const service = join(h.cgroupRoot, `user.slice/user-${ALICE}.slice/user@${ALICE}.service`);
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: ALICE, username: 'alice', env: {} });
    expect(setup).toMatchObject({ mode: 'v2', version: 2, rootless: true, v2Controllers: ['memory', 'pids'], v2WritableRoot: service });
    expect(setup.parents).toEqual([join(service, 'devenv')]);
    expect(setup.controllers.map((c) => [c.controller, c.usable])).toEqual([['memory', true], ['cpu', false], ['pids', true]]);
    expect(setup.controllers[1]?.reason).toBe(`the cpu controller is not delegated to \`${service}\``);
    expect(setup.fix).toContain('Delegate=cpu cpuset io memory pids');
  });

  it('rootless: a delegated subtree whose cgroup.subtree_control is not writable is not usable', () => {
    const h = systemdUserHost('memory cpu pids');
    const service = join(h.cgroupRoot, `user.slice/user-${ALICE}.slice/user@${ALICE}.service`);
    chmodSync(join(service, 'cgroup.subtree_control'), 0o444);
    const setup = resolveCgroupSetup({ cgroupRoot: h.cgroupRoot, procRoot: h.procRoot, uid: ALICE, username: 'alice', env: {} });
    expect(setup.parents).toEqual([]);
    expect(setup.controllers.every((c) => !c.usable && c.reason === `\`${service}\` is not writable by alice`)).toBe(true);
  });

  it('rootless: our cgroup not owned by us means no delegation, with the systemd fix', () => {
    // bob's process sits in a cgroup that belongs to someone else (alice, or root: never bob)
    host = makeFakeCgroupHost(V2_MOUNTINFO, `0::/user.slice/user-${BOB}.slice/session-3.scope\n`);
    host.file('cgroup.controllers', 'cpu memory pids\n');
    host.dir(`user.slice/user-${BOB}.slice/session-3.scope`);
    host.own(['.', 'user.slice', `user.slice/user-${BOB}.slice`, `user.slice/user-${BOB}.slice/session-3.scope`], ALICE, ALICE_GID);
    const setup = resolveCgroupSetup({ cgroupRoot: host.cgroupRoot, procRoot: host.procRoot, uid: BOB, username: 'bob', env: {} });
    expect(setup).toMatchObject({ mode: 'v2', rootless: true, parents: [] });
    expect(setup.controllers.every((c) => !c.usable)).toBe(true);
    expect(setup.controllers[0]?.reason).toBe(
      `no cgroup delegation for bob: our cgroup \`/user.slice/user-${BOB}.slice/session-3.scope\` is not owned and writable by bob`,
    );
    expect(setup.fix).toContain('systemd-run --user --scope');
  });

  it('rootless: our cgroup owned by us but read-only means no delegation either', () => {
    host = makeFakeCgroupHost(V2_MOUNTINFO, `0::/user.slice/user-${ALICE}.slice/session-3.scope\n`);
    host.file('cgroup.controllers', 'cpu memory pids\n');
    const scope = host.dir(`user.slice/user-${ALICE}.slice/session-3.scope`);
    host.own([`user.slice/user-${ALICE}.slice/session-3.scope`], ALICE, ALICE_GID);
    chmodSync(scope, 0o555);
    const setup = resolveCgroupSetup({ cgroupRoot: host.cgroupRoot, procRoot: host.procRoot, uid: ALICE, username: 'alice', env: {} });
    expect(setup.parents).toEqual([]);
    expect(setup.controllers[0]?.reason).toBe(
      `no cgroup delegation for alice: our cgroup \`/user.slice/user-${ALICE}.slice/session-3.scope\` is not owned and writable by alice`,
    );
    expect(setup.fix).toContain('systemd-run --user --scope');
  });
});
