// Port forwarding: iperf3 throughput through one devenv forward (`-p`, the monitor's splice relay into a
// --network none container), against host loopback and Podman's userspace forwarder (`--network=slirp4netns -p`,
// as ../shared/peers/bench-net.sh runs it), plus short connections per second through each.
// `node bench/port-forward.js` alone, or `npm run bench ports`. Needs root, iperf3, and for the peer the loopback
// registry of ../shared/peers/setup.sh (127.0.0.1:5000/debian-iperf3:bookworm).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const IMAGE = '127.0.0.1:5000/debian-iperf3:bookworm';
const SECONDS = Number(process.env.BENCH_IPERF_SECONDS ?? 5);
const REPS = Number(process.env.BENCH_IPERF_REPS ?? 3);
const CONNS = Number(process.env.BENCH_CONNS ?? 2000);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function iperf(port) {
  const runs = [];
  for (let i = 0; i < REPS; i += 1) {
    const r = spawnSync('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', String(SECONDS), '-J'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`iperf3 to port ${port} failed: ${r.stderr || r.stdout.slice(0, 300)}`);
    runs.push(JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9);
  }
  return { median: median(runs), runs };
}

/** Until the server behind `port` answers an HTTP request (a forward accepts before its server listens). */
async function waitHttp(port, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      let got = 0;
      s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
      s.on('data', (d) => (got += d.length));
      s.on('error', () => resolve(false));
      s.on('close', () => resolve(got > 0));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing answers on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** iperf3 until a 1-second run succeeds (the server starts after the http portserver). */
function waitIperf(port, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (spawnSync('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', '1'], { stdio: 'ignore' }).status !== 0) {
    if (Date.now() > deadline) throw new Error(`no iperf3 server answers on 127.0.0.1:${port}`);
    spawnSync('sleep', ['0.2']);
  }
}

/** Sequential connect / write / read-to-EOF against an http portserver: connections per second. */
async function connsPerSecond(port) {
  const one = () =>
    new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port });
      let got = 0;
      s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
      s.on('data', (d) => (got += d.length));
      s.on('error', reject);
      s.on('close', () => (got > 0 ? resolve() : reject(new Error('empty answer'))));
    });
  for (let i = 0; i < 50; i += 1) await one();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CONNS; i += 1) await one();
  return CONNS / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function portserver(repo) {
  const out = join(repo, 'test', 'fixtures', 'portserver', 'portserver');
  execFileSync('sh', [join(repo, 'test', 'fixtures', 'portserver', 'build.sh')], { env: { ...process.env, OUT: out } });
  return out;
}

/**
 * Measure and report. `devenv` is bin/devenv, `env` the environment for it and podman (PEERS' containers.conf …),
 * `note` collects report lines, `results` the JSON results.
 */
export async function benchPortForward({ devenv, env, root, note, results, podman = true }) {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
  const server = portserver(repo);
  const dvEnv = { ...env, DEVENV_ROOT: root };
  const dv = (args) => execFileSync(devenv, args, { env: dvEnv, encoding: 'utf8' }).trim();
  const out = {};
  const started = [];
  const children = [];
  try {
    // host loopback
    const host = spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', '35301'], { stdio: 'ignore' });
    const hostHttp = spawn(server, ['http', '127.0.0.1', '35311'], { stdio: 'ignore' });
    children.push(host, hostHttp);
    await waitHttp(35311);
    waitIperf(35301);
    out.loopback = iperf(35301);
    out.loopbackConns = await connsPerSecond(35311);

    // devenv: -p into a container with its own (loopback-only) network namespace
    started.push(['devenv', dv(['container', 'run', '-d', '--network', 'none', '-p', '127.0.0.1:35302:5201', '-p', '127.0.0.1:35312:8080',
      '-v', `${server}:/portserver:ro`, IMAGE, 'sh', '-c', '/portserver http 0.0.0.0 8080 & exec iperf3 -s -p 5201'])]);
    await waitHttp(35312);
    waitIperf(35302);
    out.devenv = iperf(35302);
    out.devenvConns = await connsPerSecond(35312);

    if (podman) {
      started.push(['podman', execFileSync('podman', ['run', '-d', '--network=slirp4netns', '-p', '127.0.0.1:35303:5201', '-p', '127.0.0.1:35313:8080',
        '-v', `${server}:/portserver:ro`, IMAGE, 'sh', '-c', '/portserver http 0.0.0.0 8080 & exec iperf3 -s -p 5201'], { env, encoding: 'utf8' }).trim()]);
      await waitHttp(35313);
      waitIperf(35303);
      out.podmanSlirp = iperf(35303);
      out.podmanSlirpConns = await connsPerSecond(35313);
    }
  } finally {
    for (const c of children) c.kill();
    for (const [kind, id] of started) {
      if (kind === 'devenv') spawnSync(devenv, ['container', 'rm', '-f', id], { env: dvEnv });
      else spawnSync('podman', ['rm', '-f', '-t', '0', id], { env });
    }
  }
  const g = (x) => `${x.median.toFixed(2)} Gbit/s`;
  note(`\n## port forward throughput (iperf3, median of ${REPS} x ${SECONDS} s, one TCP stream)`);
  note(`host loopback: ${g(out.loopback)}`);
  note(`devenv -p (splice relay): ${g(out.devenv)} = ${((out.devenv.median / out.loopback.median) * 100).toFixed(0)}% of loopback`);
  if (out.podmanSlirp) note(`podman slirp4netns -p: ${g(out.podmanSlirp)} -> devenv is ${(out.devenv.median / out.podmanSlirp.median).toFixed(2)}x`);
  note(`\n## port forward, short connections (${CONNS} sequential connect + request + close)`);
  note(`host loopback: ${out.loopbackConns.toFixed(0)}/s; devenv -p: ${out.devenvConns.toFixed(0)}/s` +
    (out.podmanSlirpConns ? `; podman slirp4netns -p: ${out.podmanSlirpConns.toFixed(0)}/s -> devenv is ${(out.devenvConns / out.podmanSlirpConns).toFixed(2)}x` : ''));
  results.portForward = out;
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
  const P = process.env.PEERS_DIR ?? '/tmp/peers';
  const env = {
    ...process.env,
    CONTAINERS_STORAGE_CONF: `${P}/containers/storage.conf`,
    CONTAINERS_REGISTRIES_CONF: `${P}/containers/registries.conf`,
    CONTAINERS_CONF: `${P}/containers/containers.conf`,
  };
  delete env.NODE_EXTRA_CA_CERTS;
  const root = mkdtempSync(join(tmpdir(), 'devenv-bench-ports-'));
  const lines = [];
  try {
    await benchPortForward({ devenv: join(repo, 'bin', 'devenv'), env, root, note: (l) => lines.push(l), results: {}, podman: process.env.BENCH_NO_PODMAN === undefined });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  console.log(lines.join('\n'));
}
