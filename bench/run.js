#!/usr/bin/env node
// npm run bench: devenv against its peers, measured in the same run, reported as ratios.
// Peers come from ../shared/peers (setup.sh: podman, runc, a loopback registry with busybox; docker-setup.sh: docker).
// up.js: `devenv up`/`exec` against the devcontainer CLI and docker exec.
// Node commands (ours and the devcontainer CLI) run with NODE_EXTRA_CA_CERTS unset, as on a typical user's machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { measureIdleMemory } from './idle-memory.js';
import { benchUp } from './up.js';
import { benchBuild } from './build.js';
import { benchPortForward } from './port-forward.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const devenv = join(repo, 'bin', 'devenv');
const P = process.env.PEERS_DIR ?? '/tmp/peers';
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const only = process.argv.slice(2);
const env = { ...process.env, NODE_EXTRA_CA_CERTS: '' };
delete env.NODE_EXTRA_CA_CERTS;
const podmanEnv = {
  CONTAINERS_STORAGE_CONF: `${P}/containers/storage.conf`,
  CONTAINERS_REGISTRIES_CONF: `${P}/containers/registries.conf`,
  CONTAINERS_CONF: `${P}/containers/containers.conf`,
};
Object.assign(env, podmanEnv);
const BB = '127.0.0.1:5000/busybox:latest';

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { env }).status === 0;
}

function sh(cmd, opts = {}) {
  return execFileSync('sh', ['-c', cmd], { env, encoding: 'utf8', ...opts }).trim();
}

/** hyperfine over several commands; returns median seconds per name. */
function hyperfine(commands, { runs = RUNS, warmup = 3, cwd, prepare } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'devenv-bench-'));
  const out = join(dir, 'h.json');
  const args = ['-N', '--warmup', String(warmup), '--runs', String(runs), '--export-json', out, '--style', 'basic'];
  for (const p of [prepare ?? []].flat()) args.push('--prepare', p); // one for all, or one per command
  for (const [name, cmd] of Object.entries(commands)) args.push('-n', name, cmd);
  const r = spawnSync('hyperfine', args, { env, cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  const json = r.status === 0 ? JSON.parse(readFileSync(out, 'utf8')) : undefined;
  rmSync(dir, { recursive: true, force: true });
  if (!json) throw new Error(`hyperfine failed (${r.status})`);
  return Object.fromEntries(json.results.map((x) => [x.command, { median: x.median, min: x.min, max: x.max }]));
}

const ms = (s) => `${(s * 1000).toFixed(1)} ms`;
const results = {};
const lines = [];
function report(title, ours, peers) {
  lines.push(`\n## ${title}`);
  lines.push(`devenv: ${ms(ours.median)} (min ${ms(ours.min)}, max ${ms(ours.max)})`);
  for (const [name, p] of Object.entries(peers)) {
    if (!p) continue;
    lines.push(`${name}: ${ms(p.median)} -> devenv is ${(p.median / ours.median).toFixed(2)}x ${p.median >= ours.median ? 'faster' : 'slower'}`);
  }
  results[title] = { devenv: ours, ...peers };
}

function requirePeers() {
  const missing = ['hyperfine', 'podman', 'runc'].filter((c) => !have(c));
  if (missing.length || !existsSync(`${P}/bundles/busybox/config.json`)) {
    console.error(`peers are not set up (missing: ${missing.join(', ') || `${P}/bundles`}): run ../shared/peers/setup.sh as root first`);
    process.exit(2);
  }
}

if (!only.length || only.some((s) => s !== 'up')) requirePeers();
else if (!have('hyperfine')) {
  console.error('hyperfine is missing: run ../shared/peers/setup.sh as root first');
  process.exit(2);
}
const root = mkdtempSync(join(tmpdir(), 'devenv-bench-store-'));
const rootfs = `${P}/bundles/busybox/rootfs`;
const started = [];
try {
  if (!only.length || only.includes('run')) {
    sh(`podman pull -q ${BB}`);
    const r = hyperfine(
      {
        devenv: `${devenv} container run --root ${root} --rm --network none --rootfs ${rootfs} true`,
        'podman --network=none': `podman run --rm --network=none ${BB} true`,
        runc: `sh -c 'cd ${P}/bundles/busybox && runc run devenv-bench-runc'`,
      },
      {},
    );
    report('container run --rm … true', r.devenv, { 'podman run --rm --network=none': r['podman --network=none'], 'runc run': r.runc });
  }
  if (!only.length || only.includes('exec')) {
    const ours = sh(`${devenv} container run --root ${root} -d --network none --rootfs ${rootfs} sleep 3600`);
    started.push(['devenv', ours]);
    const pod = sh(`podman run -d --network=none ${BB} sleep 3600`);
    started.push(['podman', pod]);
    const cmds = { devenv: `${devenv} container exec --root ${root} ${ours} true`, podman: `podman exec ${pod} true` };
    if (have('docker') && spawnSync('/usr/bin/docker', ['info'], { env }).status === 0) {
      const dock = sh(`/usr/bin/docker run -d --network=none ${BB} sleep 3600`);
      started.push(['docker', dock]);
      cmds.docker = `/usr/bin/docker exec ${dock} true`;
    }
    const r = hyperfine(cmds);
    report('exec <running> true', r.devenv, { 'podman exec': r.podman, 'docker exec': r.docker });
  }
  if (!only.length || only.includes('pull')) {
    // Pull + unpack of the Debian image (one ~51 MB gzip layer) from the loopback registry into an empty store,
    // on disk and on tmpfs, against podman pull and skopeo copy + umoci unpack of the same image.
    const DEB = '127.0.0.1:5000/debian:bookworm';
    const tmpfs = mkdtempSync(join(tmpdir(), 'devenv-bench-tmpfs-'));
    sh(`mount -t tmpfs -o size=2g tmpfs ${tmpfs}`);
    try {
      for (const [where, base] of [['disk', mkdtempSync(join(tmpdir(), 'devenv-bench-disk-'))], ['tmpfs', tmpfs]]) {
        const ours = join(base, 'devenv');
        const pod = join(base, 'podman');
        const umo = join(base, 'umoci');
        const r = hyperfine(
          {
            devenv: `${devenv} image pull -q --root ${ours} ${DEB}`,
            podman: `podman --root ${pod}/root --runroot ${pod}/run pull -q ${DEB}`,
            'skopeo+umoci': `sh -c 'mkdir -p ${umo} && skopeo copy -q --src-tls-verify=false docker://${DEB} oci:${umo}/oci:x && umoci unpack --image ${umo}/oci:x ${umo}/bundle >/dev/null'`,
          },
          // This machine's ext4 has no journal: then ext4 skips inodes deleted in the last 5 s when it allocates
          // new ones, reading their inode-table blocks one by one (recently_deleted() in a perf profile), so a
          // pull right after removing the previous run's 7,000-file store pays for that removal, by luck of which
          // block group each tool lands in. Waiting 6 s after the removal takes that out of every tool's figure.
          { runs: Number(process.env.BENCH_PULL_RUNS ?? 5), warmup: 1, prepare: `sh -c 'umount ${pod}/root/overlay 2>/dev/null; rm -rf ${ours} ${pod} ${umo}; sync${where === 'disk' ? '; sleep 6' : ''}'` },
        );
        report(`image pull debian (${where})`, r.devenv, { 'podman pull': r.podman, 'skopeo copy + umoci unpack': r['skopeo+umoci'] });
        spawnSync('umount', [`${pod}/root/overlay`]); // podman's storage keeps a bind mount of its overlay home
        sh(`rm -rf ${ours} ${pod} ${umo}`);
      }
    } finally {
      spawnSync('umount', [tmpfs]);
      rmSync(tmpfs, { recursive: true, force: true });
    }
  }
  if (!only.length || only.includes('up')) {
    benchUp({ devenv, env, P, runs: RUNS, hyperfine, report, note: (l) => lines.push(l), results });
  }
  if (!only.length || only.includes('build')) {
    benchBuild({ devenv, env, runs: RUNS, hyperfine, report, note: (l) => lines.push(l) });
  }
  if (!only.length || only.includes('ports')) {
    await benchPortForward({ devenv, env, root, note: (l) => lines.push(l), results });
  }
  if (!only.length || only.includes('idle')) {
    const n = Number(process.env.BENCH_IDLE ?? 20);
    const mem = measureIdleMemory({ devenv, root, rootfs, n, env, image: BB });
    lines.push(`\n## idle container, host memory each (${n} containers, PSS of every process they add)`);
    lines.push(`devenv: ${(mem.devenv / 1024).toFixed(2)} MiB; podman (conmon + container): ${(mem.podman / 1024).toFixed(2)} MiB -> ratio ${(mem.podman / mem.devenv).toFixed(2)}x`);
    results.idleMemoryKiB = mem;
  }
} finally {
  for (const [kind, id] of started) {
    if (kind === 'devenv') spawnSync(devenv, ['container', 'rm', '-f', '--root', root, id], { env });
    if (kind === 'podman') spawnSync('podman', ['rm', '-f', '-t', '0', id], { env });
    if (kind === 'docker') spawnSync('/usr/bin/docker', ['rm', '-f', id], { env });
  }
  rmSync(root, { recursive: true, force: true });
}
console.log(lines.join('\n'));
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'latest.json'), `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
