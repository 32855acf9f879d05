import { afterEach, describe, expect, it } from 'vitest';

import {
  cgroupPathToDirectory,
  classifyCgroupMounts,
  detectCgroupMode,
  parseMountinfo,
  parseProcCgroup,
  rebaseMountPoint,
} from '../../../../src/runtime/cgroups/detect-cgroup-mode.js';
import { DevenvError } from '../../../../src/errors.js';
import { type FakeCgroupHost, HYBRID_MOUNTINFO, makeFakeCgroupHost, V1_MOUNTINFO, V2_MOUNTINFO } from './fake-cgroup-host.js';

describe('parseMountinfo', () => {
  it('reads the fields after the optional-fields separator and unescapes octal escapes', () => {
    const [entry] = parseMountinfo('36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n');
    expect(entry).toEqual({ root: '/mnt1', mountPoint: '/mnt two', fsType: 'ext3', source: '/dev/root', superOptions: ['rw', 'errors=continue'] });
  });

  it('skips malformed lines', () => {
    expect(parseMountinfo('garbage\n\n1 2 3\n')).toEqual([]);
  });
});

describe('classifyCgroupMounts', () => {
  it('sees v1 controllers plus a cgroup2 mount as hybrid (this CI machine)', () => {
    const mounts = classifyCgroupMounts(parseMountinfo(HYBRID_MOUNTINFO));
    expect(mounts.mode).toBe('hybrid');
    expect(mounts.v2?.mountPoint).toBe('/sys/fs/cgroup/unified');
    expect(mounts.v1.find((h) => h.controllers.includes('memory'))?.mountPoint).toBe('/sys/fs/cgroup/memory');
    expect(mounts.v1.find((h) => h.controllers.includes('name=systemd'))?.mountPoint).toBe('/sys/fs/cgroup/systemd');
  });

  it('sees v1 only as v1 and keeps co-mounted controllers together', () => {
    const mounts = classifyCgroupMounts(parseMountinfo(V1_MOUNTINFO));
    expect(mounts.mode).toBe('v1');
    expect(mounts.v2).toBeUndefined();
    expect(mounts.v1.find((h) => h.controllers.includes('cpu'))).toMatchObject({ mountPoint: '/sys/fs/cgroup/cpu,cpuacct', controllers: ['cpu', 'cpuacct'] });
    // release_agent=… and xattr are options, not controllers
    expect(mounts.v1.find((h) => h.controllers.includes('name=systemd'))?.controllers).toEqual(['name=systemd']);
  });

  it('sees the unified hierarchy alone as v2', () => {
    const mounts = classifyCgroupMounts(parseMountinfo(V2_MOUNTINFO));
    expect(mounts).toMatchObject({ mode: 'v2', v1: [], v2: { mountPoint: '/sys/fs/cgroup', mountRoot: '/' } });
  });

  it('still calls it v2 when only a named v1 hierarchy (name=systemd) is mounted besides', () => {
    const text = `${V2_MOUNTINFO}40 30 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n`;
    expect(classifyCgroupMounts(parseMountinfo(text)).mode).toBe('v2');
  });

  it('says none without any cgroup mount', () => {
    expect(classifyCgroupMounts(parseMountinfo('22 1 0:21 / / rw - ext4 /dev/sda1 rw\n')).mode).toBe('none');
  });

  it('rebases mount points onto a fake cgroup root', () => {
    const mounts = classifyCgroupMounts(parseMountinfo(HYBRID_MOUNTINFO), '/tmp/fake');
    expect(mounts.v1.find((h) => h.controllers.includes('pids'))?.mountPoint).toBe('/tmp/fake/pids');
    expect(rebaseMountPoint('/sys/fs/cgroup', '/tmp/fake')).toBe('/tmp/fake');
    expect(rebaseMountPoint('/elsewhere/cg', '/tmp/fake')).toBe('/elsewhere/cg');
  });
});

describe('detectCgroupMode', () => {
  let host: FakeCgroupHost | undefined;
  afterEach(() => host?.cleanup());

  it('reads self/mountinfo under procRoot', () => {
    host = makeFakeCgroupHost(HYBRID_MOUNTINFO);
    expect(detectCgroupMode({ procRoot: host.procRoot, cgroupRoot: host.cgroupRoot })).toBe('hybrid');
  });

  it('fails clearly when /proc cannot be read', () => {
    expect(() => detectCgroupMode({ procRoot: '/nonexistent-proc' })).toThrowError(DevenvError);
  });

  it('detects this machine without throwing', () => {
    expect(['v1', 'v2', 'hybrid', 'none']).toContain(detectCgroupMode());
  });
});

describe('parseProcCgroup and cgroupPathToDirectory', () => {
  it('parses v1 and v2 lines', () => {
    expect(parseProcCgroup('4:memory:/process_api/x\n1:cpu,cpuacct:/\n0::/user.slice/user-1000.slice/user@1000.service/app.slice\n')).toEqual([
      { hierarchyId: 4, controllers: ['memory'], path: '/process_api/x' },
      { hierarchyId: 1, controllers: ['cpu', 'cpuacct'], path: '/' },
      { hierarchyId: 0, controllers: [], path: '/user.slice/user-1000.slice/user@1000.service/app.slice' },
    ]);
  });

  it('maps a cgroup path to its directory, honouring the mount root', () => {
    const hierarchy = { version: 2 as const, mountPoint: '/sys/fs/cgroup', mountRoot: '/', controllers: [] };
    expect(cgroupPathToDirectory(hierarchy, '/')).toBe('/sys/fs/cgroup');
    expect(cgroupPathToDirectory(hierarchy, '/a/b')).toBe('/sys/fs/cgroup/a/b');
    expect(cgroupPathToDirectory(hierarchy, '/../outside')).toBeUndefined();
    const bound = { ...hierarchy, mountRoot: '/docker/abc' };
    expect(cgroupPathToDirectory(bound, '/docker/abc/x')).toBe('/sys/fs/cgroup/x');
    expect(cgroupPathToDirectory(bound, '/other')).toBeUndefined();
  });
});
