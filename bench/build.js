// bench build: `devenv image build` against `podman build` (buildah) on the same small Dockerfile and base image:
// an unchanged rebuild (goal: under a second, and at most 3x `node -e 0`), a rebuild after editing the last step,
// and a cold build (--no-cache on both). Imported by run.js.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BB = '127.0.0.1:5000/busybox:latest';

function context(base, name) {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), [`FROM ${BB}`, 'ENV APP=/app', 'WORKDIR /app', 'COPY f.txt ./', 'RUN echo one > /one && ls /app', 'RUN echo 0 > /last', ''].join('\n'));
  writeFileSync(join(dir, 'f.txt'), 'hello\n');
  return dir;
}

/** A shell command that changes the last step of the Dockerfile in `dir` to a new value. */
function editLast(dir) {
  return `sh -c 'sed -i "s|^RUN echo .* > /last\\$|RUN echo $(date +%N) > /last|" ${dir}/Dockerfile'`;
}

export function benchBuild({ devenv, env, runs, hyperfine, report, note }) {
  const base = mkdtempSync(join(tmpdir(), 'devenv-bench-build-'));
  const store = join(base, 'store');
  const ours = context(base, 'devenv');
  const theirs = context(base, 'podman');
  try {
    const pull = spawnSync(devenv, ['image', 'pull', '-q', '--root', store, BB], { env, encoding: 'utf8' });
    if (pull.status !== 0) throw new Error(`devenv image pull failed: ${pull.stderr}`);
    spawnSync('podman', ['pull', '-q', BB], { env, stdio: 'ignore' });
    const our = `${devenv} image build -q --root ${store} -t bench/build:1 ${ours}`;
    const their = `podman build -q -t bench/build:1 ${theirs}`;
    for (const cmd of [our, their]) {
      const r = spawnSync('sh', ['-c', cmd], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
    }
    const unchanged = hyperfine({ devenv: our, podman: their, node: 'node -e 0' }, { runs });
    report('build: unchanged rebuild (all cache hits)', unchanged.devenv, { 'podman build': unchanged.podman });
    note(`node -e 0: ${(unchanged.node.median * 1000).toFixed(1)} ms -> devenv rebuild is ${(unchanged.devenv.median / unchanged.node.median).toFixed(2)}x node start-up (goal <= 3x; under 1 s: ${unchanged.devenv.median < 1 ? 'yes' : 'NO'})`);
    const edited = hyperfine({ devenv: our, podman: their }, { runs: Math.min(runs, 10), warmup: 1, prepare: [editLast(ours), editLast(theirs)] });
    report('build: rebuild after editing the last step', edited.devenv, { 'podman build': edited.podman });
    const cold = hyperfine({ devenv: `${our} --no-cache`, podman: `podman build -q --no-cache -t bench/build:1 ${theirs}` }, { runs: Math.min(runs, 10), warmup: 1 });
    report('build: cold build (--no-cache, base image present)', cold.devenv, { 'podman build': cold.podman });
  } finally {
    spawnSync('podman', ['rmi', '-f', 'bench/build:1'], { env, stdio: 'ignore' });
    spawnSync(devenv, ['container', 'ls', '-a', '-q', '--root', store], { env });
    rmSync(base, { recursive: true, force: true });
  }
}
