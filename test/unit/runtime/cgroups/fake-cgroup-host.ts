import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** mountinfo of the CI machine: cgroup v1 controllers plus a cgroup2 mount holding only hugetlb (hybrid). */
export const HYBRID_MOUNTINFO = `22 1 0:21 / / rw,relatime - overlay overlay rw
23 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

/** A systemd distribution on cgroup v1 (cpu and cpuacct co-mounted). */
export const V1_MOUNTINFO = `25 18 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
31 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids
`;

/** A current systemd distribution: the unified hierarchy only. */
export const V2_MOUNTINFO = `24 18 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

export const HYBRID_PROC_CGROUP = `9:name=systemd:/
8:pids:/
4:memory:/process_api/617fa83cb776661fac9610789c644769
1:cpu:/
0::/
`;

/** A fake /sys/fs/cgroup and /proc in a temp dir. */
export interface FakeCgroupHost {
  cgroupRoot: string;
  procRoot: string;
  /** Make a directory (and parents) under cgroupRoot. */
  dir(relativePath: string): string;
  /** Write a file under cgroupRoot. */
  file(relativePath: string, content: string): string;
  /**
   * Make paths under cgroupRoot belong to `uid`:`gid`. As root this chowns them; otherwise everything in the fake
   * tree already belongs to the current user, the only one it can be given to (anyone else throws).
   */
  own(relativePaths: string[], uid: number, gid: number): void;
  /** Removes the fake tree, also when a test made directories in it read-only. */
  cleanup(): void;
}

/** Give the owner full access to every directory below `path`, so that a non-root user can remove it. */
function makeRemovable(path: string): void {
  let stats;
  try {
    stats = lstatSync(path);
  } catch {
    return;
  }
  if (!stats.isDirectory()) return;
  chmodSync(path, 0o700);
  for (const entry of readdirSync(path)) makeRemovable(join(path, entry));
}

export function makeFakeCgroupHost(mountinfo: string, procCgroup = '0::/\n'): FakeCgroupHost {
  const base = mkdtempSync(join(tmpdir(), 'devenv-cgroup-unit-'));
  const cgroupRoot = join(base, 'cgroup');
  const procRoot = join(base, 'proc');
  mkdirSync(join(procRoot, 'self'), { recursive: true });
  mkdirSync(cgroupRoot);
  writeFileSync(join(procRoot, 'self', 'mountinfo'), mountinfo);
  writeFileSync(join(procRoot, 'self', 'cgroup'), procCgroup);
  return {
    cgroupRoot,
    procRoot,
    dir: (relativePath) => {
      const path = join(cgroupRoot, relativePath);
      mkdirSync(path, { recursive: true });
      return path;
    },
    file: (relativePath, content) => {
      const path = join(cgroupRoot, relativePath);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
      return path;
    },
    own: (relativePaths, uid, gid) => {
      const isRoot = process.getuid?.() === 0;
      for (const relativePath of relativePaths) {
        const path = join(cgroupRoot, relativePath);
        if (isRoot) {
          chownSync(path, uid, gid);
          continue;
        }
        const stats = statSync(path);
        if (stats.uid !== uid || stats.gid !== gid) throw new Error(`cannot give ${path} to ${uid}:${gid} (it is ${stats.uid}:${stats.gid}): only root can chown`);
      }
    },
    cleanup: () => {
      makeRemovable(base);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Mount points of the hybrid/v1 samples as directories. */
export function makeV1Hierarchies(host: FakeCgroupHost, names: string[]): void {
  for (const name of names) host.dir(name);
}
