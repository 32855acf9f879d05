#!/usr/bin/env node
// Private networking (docs/networking.md), as root after `npm run build`:
//   node bench/network.js [startup] [egress] [helpers]
// startup: `container run --rm … true` with --network private, none and host, runs interleaved (this machine is shared
//          and noisy), and Podman's --network=slirp4netns vs none when the peers are set up (../shared/peers).
// egress:  iperf3 from a running devenv container (private; root, and rootless as BENCH_USER, default devenvci) to an
//          iperf3 server on the host's 127.0.0.1, reached as 10.0.2.2 (host.containers.internal), both directions
//          (-R: the container receives, as in a download), against host loopback and Podman's slirp4netns.
// helpers: slirp4netns vs pasta on a bare user+network namespace, started the way the runtime starts its helper:
//          time until the interface is configured, iperf3 egress, connect+echo round trip, PSS. This is how the
//          helper was chosen.
// Node commands run with NODE_EXTRA_CA_CERTS unset, as on a typical user's machine. Nothing leaves the host.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const devenv = join(repo, 'bin', 'devenv');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const REPS = Number(process.env.BENCH_NET_REPS ?? 5);
const SECONDS = process.env.BENCH_NET_SECONDS ?? '5';
const P = process.env.PEERS_DIR ?? '/tmp/peers';
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
Object.assign(env, {
  CONTAINERS_STORAGE_CONF: `${P}/containers/storage.conf`,
  CONTAINERS_REGISTRIES_CONF: `${P}/containers/registries.conf`,
  CONTAINERS_CONF: `${P}/containers/containers.conf`,
});
const only = process.argv.slice(2);
const want = (part) => only.length === 0 || only.includes(part);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function busyboxRootfs(dir) {
  for (const d of ['bin', 'etc', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const a of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (a && a !== 'busybox') symlinkSync('busybox', join(dir, 'bin', a));
  }
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\n');
  return dir;
}

/** Wall time of one command in ms (it must succeed). */
function timeOnce(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Each command RUNS times, interleaved round by round after two warm-up rounds; medians in ms. */
function interleaved(commands) {
  const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let round = -2; round < RUNS; round += 1) {
    for (const [name, argv] of Object.entries(commands)) {
      const ms = timeOnce(argv);
      if (round >= 0) times[name].push(ms);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { median: median(v), min: Math.min(...v), max: Math.max(...v) }]));
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * iperf3 client argv (prefix: how to enter the namespace) against a one-shot server on the host's 127.0.0.1;
 * reverse: the server sends (a download into the container) instead of the client.
 */
async function iperf(prefix, target, reverse = false) {
  const port = await freePort();
  const server = spawn('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await sleep(300);
  const r = spawnSync(prefix[0] ?? 'iperf3', [...prefix.slice(1), ...(prefix.length ? ['iperf3'] : []), '-c', target, '-p', String(port), '-t', SECONDS, '-J', ...(reverse ? ['-R'] : [])], {
    encoding: 'utf8',
  });
  await new Promise((res) => (server.exitCode !== null ? res() : server.once('exit', res)));
  try {
    return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9;
  } catch {
    throw new Error(`iperf3 failed: ${r.stdout.slice(-300)} ${r.stderr}`);
  }
}

const lines = [];
const out = (l) => {
  lines.push(l);
  console.log(l);
};
const work = mkdtempSync(join(tmpdir(), 'devenv-bench-net-'));
const root = join(work, 'store');

try {
  const rootfs = busyboxRootfs(join(work, 'rootfs'));
  if (want('startup')) {
    const run = (net) => [process.execPath, devenv, 'container', 'run', '--root', root, '--rm', '--network', net, '--rootfs', rootfs, 'true'];
    const cmds = { private: run('private'), none: run('none'), host: run('host') };
    const podman = have('podman') && spawnSync('podman', ['image', 'exists', '127.0.0.1:5000/busybox:latest'], { env }).status === 0;
    if (podman) {
      cmds['podman slirp4netns'] = ['podman', 'run', '--rm', '--network=slirp4netns', '127.0.0.1:5000/busybox:latest', 'true'];
      cmds['podman none'] = ['podman', 'run', '--rm', '--network=none', '127.0.0.1:5000/busybox:latest', 'true'];
    }
    const r = interleaved(cmds);
    out(`\n## container run --rm … true (median of ${RUNS}, interleaved, ms)`);
    for (const [k, v] of Object.entries(r)) out(`${k.padEnd(20)} ${v.median.toFixed(1).padStart(7)}  (min ${v.min.toFixed(1)}, max ${v.max.toFixed(1)})`);
    out(`devenv private costs ${(r.private.median - r.none.median).toFixed(1)} ms over none (${(r.private.median / r.none.median).toFixed(2)}x)`);
    if (podman) out(`podman slirp4netns costs ${(r['podman slirp4netns'].median - r['podman none'].median).toFixed(1)} ms over none (${(r['podman slirp4netns'].median / r['podman none'].median).toFixed(2)}x)`);
  }

  if (want('egress')) {
    // root, and rootless as BENCH_USER (default devenvci, the e2e tests' user) when that user exists
    const user = process.env.BENCH_USER ?? 'devenvci';
    const modes = [{ label: 'devenv private, root', as: [], store: root, rootfs }];
    if (spawnSync('id', ['-u', user]).status === 0) {
      const store = join(work, 'store-rootless');
      mkdirSync(store);
      const rootlessRootfs = busyboxRootfs(join(work, 'rootfs-rootless'));
      spawnSync('chown', ['-R', `${user}:${user}`, store, rootlessRootfs]); // group too: an unmapped gid 0 cannot be copied up
      chmodSync(work, 0o755);
      modes.push({ label: `devenv private, rootless (${user})`, as: ['runuser', '-u', user, '--', 'env', `DEVENV_ROOT=${store}`], store, rootfs: rootlessRootfs });
    }
    const figures = [];
    const loopback = { up: [], down: [] };
    for (const m of modes) {
      const devenvArgv = (args) => [...m.as, process.execPath, devenv, ...args];
      const argv = devenvArgv(['container', 'run', '--root', m.store, '-d', '--network', 'private', '--rootfs', m.rootfs, 'sleep', '3600']);
      const id = execFileSync(argv[0], argv.slice(1), { env, encoding: 'utf8' }).trim();
      try {
        const { pid } = JSON.parse(readFileSync(join(m.store, 'containers', id, 'state.json'), 'utf8'));
        const up = [];
        const down = [];
        for (let i = 0; i < REPS; i += 1) {
          // the host's iperf3 in the container's network namespace: the path through slirp4netns is the container's
          const ns = ['nsenter', '-t', String(pid), '-n'];
          up.push(await iperf(ns, '10.0.2.2'));
          down.push(await iperf(ns, '10.0.2.2', true));
          if (figures.length === 0) {
            loopback.up.push(await iperf([], '127.0.0.1'));
            loopback.down.push(await iperf([], '127.0.0.1', true));
          }
        }
        figures.push({ label: m.label, up, down });
      } finally {
        // DEVENV_ROOT, not --root: `container rm` reads its references from the raw argv
        const rmArgv = [...m.as, 'env', `DEVENV_ROOT=${m.store}`, process.execPath, devenv, 'container', 'rm', '-f', id];
        const rm = spawnSync(rmArgv[0], rmArgv.slice(1), { env, encoding: 'utf8' });
        if (rm.status !== 0) console.error(`removing the egress container ${id} failed: ${rm.stderr}`);
      }
    }
    // the peer: Podman's slirp4netns (the same binary; host loopback allowed, as devenv allows it), when set up
    const podmanImage = '127.0.0.1:5000/busybox:latest';
    if (have('podman') && spawnSync('podman', ['image', 'exists', podmanImage], { env }).status === 0) {
      const run = spawnSync('podman', ['run', '-d', '--network=slirp4netns:allow_host_loopback=true,mtu=65520', podmanImage, 'sleep', '3600'], { env, encoding: 'utf8' });
      const cid = run.stdout.trim();
      if (run.status !== 0) console.error(`podman run failed: ${run.stderr}`);
      else {
        try {
          const pid = spawnSync('podman', ['inspect', '-f', '{{.State.Pid}}', cid], { env, encoding: 'utf8' }).stdout.trim();
          const up = [];
          const down = [];
          for (let i = 0; i < REPS; i += 1) {
            up.push(await iperf(['nsenter', '-t', pid, '-n'], '10.0.2.2'));
            down.push(await iperf(['nsenter', '-t', pid, '-n'], '10.0.2.2', true));
          }
          figures.push({ label: 'podman slirp4netns (root)', up, down });
        } finally {
          spawnSync('podman', ['rm', '-f', '-t', '0', cid], { env });
        }
      }
    }
    const row = (label, xs) => `${label.padEnd(58)} ${median(xs).toFixed(2).padStart(6)}  [${xs.map((x) => x.toFixed(2)).join(', ')}]`;
    out(`\n## egress, iperf3 ${SECONDS} s × ${REPS} (median Gbit/s): container -> host.containers.internal (10.0.2.2 = host loopback)`);
    for (const f of figures) {
      out(row(`${f.label}, container sends`, f.up));
      out(row(`${f.label}, container receives`, f.down));
    }
    out(row('host loopback, sends', loopback.up));
    out(row('host loopback, receives (-R)', loopback.down));
    for (const f of figures) {
      out(`${f.label}: ${(median(f.up) / median(loopback.up)).toFixed(3)} of loopback sending, ${(median(f.down) / median(loopback.down)).toFixed(3)} receiving`);
    }
    const podmanFigure = figures.find((f) => f.label.startsWith('podman'));
    if (podmanFigure && figures[0] !== podmanFigure) {
      const ours = figures[0];
      out(`devenv root / podman: ${(median(ours.up) / median(podmanFigure.up)).toFixed(2)}x sending, ${(median(ours.down) / median(podmanFigure.down)).toFixed(2)}x receiving`);
    }
  }

  if (want('helpers')) {
    const results = { slirp4netns: { ready: [], gbps: [], rtt: [], pss: [] }, pasta: { ready: [], gbps: [], rtt: [], pss: [] } };
    const echoPort = await freePort();
    const echo = createServer((c) => c.once('data', (d) => c.end(d)));
    await new Promise((r) => echo.listen(echoPort, '127.0.0.1', r));
    const latency = `import socket,time,statistics,sys
ts=[]
for i in range(300):
    t=time.perf_counter(); s=socket.create_connection(('10.0.2.2',${echoPort})); s.sendall(b'x'); s.recv(1); s.close(); ts.append((time.perf_counter()-t)*1e6)
print(statistics.median(ts))`;
    for (let i = 0; i < REPS; i += 1) {
      for (const helper of ['slirp4netns', 'pasta']) {
        if (!have(helper)) continue;
        const target = spawn('unshare', ['--user', '--map-root-user', '--net', 'sleep', '600'], { stdio: 'ignore' });
        // wait until unshare made the namespaces (its /proc/PID/ns/net differs from ours)
        for (let k = 0; k < 2000; k += 1) {
          try {
            if (readlinkSync(`/proc/${target.pid}/ns/net`) !== readlinkSync('/proc/self/ns/net')) break;
          } catch {
            // not yet
          }
          await sleep(1);
        }
        const t0 = process.hrtime.bigint();
        let h;
        if (helper === 'slirp4netns') {
          // as the runtime does (native/src/network.c): ready fd 3, exit fd 4
          h = spawn('slirp4netns', ['--configure', '--mtu=65520', '--enable-ipv6', '--enable-sandbox', '--enable-seccomp', '--ready-fd=3', '--exit-fd=4', String(target.pid), 'eth0'], {
            stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
          });
          await new Promise((r) => h.stdio[3].once('data', r));
        } else {
          // the same layout (10.0.2.0/24, gateway = host loopback, DNS forwarder), no port scanning: pasta's fastest set-up
          const pidfile = join(work, `pasta-${i}.pid`);
          h = spawn('pasta', ['-f', '-q', '--config-net', '--runas', '0', '-t', 'none', '-u', 'none', '-T', 'none', '-U', 'none', '-a', '10.0.2.100', '-n', '24', '-g', '10.0.2.2', '--dns-forward', '10.0.2.3', '-m', '65520', '-P', pidfile, String(target.pid)], { stdio: 'ignore' });
          while (!(existsSync(pidfile) && readFileSync(pidfile, 'utf8').length > 0)) await sleep(0.2);
          unlinkSync(pidfile);
        }
        const r = results[helper];
        r.ready.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await sleep(200);
        const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${h.pid}/smaps_rollup`, 'utf8'));
        r.pss.push(Number(m?.[1] ?? NaN));
        const ns = ['nsenter', '-t', String(target.pid), '-U', '-n', '--preserve-credentials'];
        r.gbps.push(await iperf(ns, '10.0.2.2'));
        const lat = await new Promise((resolve) => {
          const c = spawn(ns[0], [...ns.slice(1), 'python3', '-c', latency], { stdio: ['ignore', 'pipe', 'ignore'] });
          let text = '';
          c.stdout.on('data', (d) => (text += d));
          c.once('exit', () => resolve(Number(text)));
        });
        r.rtt.push(lat);
        h.kill('SIGKILL');
        target.kill('SIGKILL');
        await Promise.all([h, target].map((p) => (p.exitCode !== null || p.signalCode ? undefined : new Promise((res) => p.once('exit', res)))));
      }
    }
    echo.close();
    out(`\n## egress helpers on a bare namespace (median of ${REPS}, interleaved)`);
    out(`${'helper'.padEnd(12)} ${'ready ms'.padStart(9)} ${'Gbit/s'.padStart(7)} ${'connect+echo µs'.padStart(16)} ${'PSS kB'.padStart(7)}`);
    for (const [helper, r] of Object.entries(results)) {
      if (r.ready.length === 0) continue;
      out(`${helper.padEnd(12)} ${median(r.ready).toFixed(1).padStart(9)} ${median(r.gbps).toFixed(2).padStart(7)} ${median(r.rtt).toFixed(0).padStart(16)} ${median(r.pss).toFixed(0).padStart(7)}   Gbit/s [${r.gbps.map((x) => x.toFixed(2)).join(', ')}]`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
