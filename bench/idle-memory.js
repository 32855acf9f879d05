// Host memory of idle containers: the sum of PSS (proportional set size, shared pages split between their users)
// of every process a container adds on the host, measured the same way for devenv and podman.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

function pss(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function pids() {
  return new Set(readdirSync('/proc').filter((p) => /^\d+$/.test(p)));
}

function ppid(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  } catch {
    return undefined;
  }
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** PSS of the new processes whose command line contains `marker`, and of all their descendants. */
function addedPss(before, marker) {
  const fresh = [...pids()].filter((p) => !before.has(p));
  const parent = new Map(fresh.map((p) => [p, ppid(p)]));
  const counted = new Set(fresh.filter((p) => cmdline(p).includes(marker)));
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of fresh) {
      if (!counted.has(p) && counted.has(parent.get(p))) {
        counted.add(p);
        grew = true;
      }
    }
  }
  let total = 0;
  for (const p of counted) total += pss(p);
  return { total, processes: counted.size };
}

/** Start n idle containers of each kind, sum the PSS of the processes that appeared, remove them. KiB per container. */
export function measureIdleMemory({ devenv, root, rootfs, n, env, image }) {
  const ids = [];
  let before = pids();
  for (let i = 0; i < n; i += 1) {
    ids.push(execFileSync(devenv, ['container', 'run', '--root', root, '-d', '--network', 'none', '--rootfs', rootfs, 'sleep', '3600'], { env, encoding: 'utf8' }).trim());
  }
  const ours = addedPss(before, root);
  for (const id of ids) spawnSync(devenv, ['container', 'rm', '-f', '--root', root, id], { env });
  const pods = [];
  before = pids();
  for (let i = 0; i < n; i += 1) pods.push(execFileSync('podman', ['run', '-d', '--network=none', image, 'sleep', '3600'], { env, encoding: 'utf8' }).trim());
  // podman itself has exited; what remains per container is conmon plus the container's processes
  const theirs = addedPss(before, 'conmon');
  spawnSync('podman', ['rm', '-f', '-t', '0', ...pods], { env });
  return { devenv: ours.total / n, podman: theirs.total / n, devenvProcesses: ours.processes, podmanProcesses: theirs.processes };
}
