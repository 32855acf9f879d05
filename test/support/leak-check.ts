import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** What a test may have left behind: mounts, processes and cgroups that mention its unique store root or ids. */
export interface Leaks {
  mounts: string[];
  processes: string[];
  cgroups: string[];
}

function cgroupDirsUnder(parentGlobs: string[], ids: string[]): string[] {
  const found: string[] = [];
  for (const parent of parentGlobs) {
    let entries: string[] = [];
    try {
      entries = readdirSync(parent);
    } catch {
      continue;
    }
    for (const e of entries) if (ids.some((id) => e === id)) found.push(`${parent}/${e}`);
  }
  return found;
}

/** Every devenv cgroup parent this machine could have (v1 per controller, v2, rootless delegations). */
export function devenvCgroupParents(user: string): string[] {
  const out: string[] = [];
  for (const c of ['memory', 'cpu', 'pids', 'cpu,cpuacct']) out.push(`/sys/fs/cgroup/${c}/devenv`, `/sys/fs/cgroup/${c}/devenv-${user}`);
  out.push('/sys/fs/cgroup/devenv', `/sys/fs/cgroup/devenv-${user}`);
  return out;
}

export function findLeaks(storeRoot: string, ids: string[], user: string): Leaks {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(storeRoot));
  const processes: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let root = '';
      try {
        root = readlinkSync(`/proc/${pid}/root`);
      } catch {
        // not ours to read
      }
      if (cmd.includes(storeRoot) || root.startsWith(storeRoot)) processes.push(`${pid}: ${cmd}`);
    } catch {
      // gone
    }
  }
  return { mounts, processes, cgroups: cgroupDirsUnder(devenvCgroupParents(user), ids) };
}
