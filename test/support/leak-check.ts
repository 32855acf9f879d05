import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** What a test may have left behind: mounts, processes and cgroups that mention its unique store root or ids. */
export interface Leaks {
  mounts: string[];
  processes: string[];
  cgroups: string[];
  /**
   * Egress helpers (slirp4netns, or pasta) started for the suite's containers: their stdout/stderr is the
   * container's `network.log` in the store. A container's network namespace can only outlive it through a process
   * (its own: `processes`; a helper's tap fd: here) or an nsfs mount (`mounts`), so this also covers namespaces.
   */
  helpers: string[];
  /** Host sockets still listening: held by a process of the store, or on a port the suite was told about. */
  ports: string[];
}

interface HostSocket {
  proto: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  address: string;
  port: number;
  inode: string;
}

function hexAddress(hex: string): string {
  if (hex.length === 8) return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  const words: string[] = [];
  for (let w = 0; w < 4; w += 1) {
    const le = hex.slice(w * 8, w * 8 + 8);
    const be = [3, 2, 1, 0].map((i) => le.slice(i * 2, i * 2 + 2)).join('');
    words.push(be.slice(0, 4), be.slice(4));
  }
  return words
    .map((x) => x.replace(/^0+(?=.)/, '').toLowerCase())
    .join(':')
    .replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Listening TCP and bound UDP sockets of the host's network namespace (/proc/net/{tcp,tcp6,udp,udp6}). */
export function hostListeningSockets(): HostSocket[] {
  const out: HostSocket[] = [];
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
    let text = '';
    try {
      text = readFileSync(`/proc/net/${proto}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [addr, port] = (f[1] as string).split(':') as [string, string];
      if (f[3] !== (proto.startsWith('tcp') ? '0A' : '07')) continue; /* LISTEN, or an unconnected UDP socket */
      out.push({ proto, address: hexAddress(addr), port: parseInt(port, 16), inode: f[9] as string });
    }
  }
  return out;
}

function socketInodesOf(pid: string): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1] as string);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // gone
  }
  return inodes;
}

const HELPER_COMMANDS = /^(slirp4netns|pasta|passt(\.avx2)?)$/;

/** Helper processes whose output goes into the store: started by the monitor of one of its containers. */
export function findHelpers(storeRoot: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!HELPER_COMMANDS.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) continue;
      const out = [1, 2].map((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      });
      if (out.some((target) => target.startsWith(storeRoot))) {
        found.push(`${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()} (${out[1]})`);
      }
    } catch {
      // gone
    }
  }
  return found;
}

/** findHelpers, allowing up to `settleMs` for helpers that are already on their way out (exit fd just closed). */
export function findHelpersSettled(storeRoot: string, settleMs = 3000): string[] {
  const deadline = Date.now() + settleMs;
  let found = findHelpers(storeRoot);
  while (found.length > 0 && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    found = findHelpers(storeRoot);
  }
  return found;
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

export function findLeaks(storeRoot: string, ids: string[], user: string, trackedPorts: readonly number[] = []): Leaks {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(storeRoot));
  const processes: string[] = [];
  const storeSockets = new Set<string>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let root = '';
      try {
        root = readlinkSync(`/proc/${pid}/root`);
      } catch {
        // not ours to read
      }
      if (cmd.includes(storeRoot) || root.startsWith(storeRoot)) {
        processes.push(`${pid}: ${cmd}`);
        for (const inode of socketInodesOf(pid)) storeSockets.add(inode);
      }
    } catch {
      // gone
    }
  }
  const tracked = new Set(trackedPorts);
  const ports = hostListeningSockets()
    .filter((s) => storeSockets.has(s.inode) || tracked.has(s.port))
    .map((s) => `${s.proto} ${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port}`);
  return { mounts, processes, cgroups: cgroupDirsUnder(devenvCgroupParents(user), ids), helpers: findHelpersSettled(storeRoot), ports };
}
