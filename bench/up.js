// `npm run bench up`: `devenv up`/`exec` of a dev container against the devcontainer CLI (@devcontainers/cli on
// docker, see ../shared/peers/docker-setup.sh) and `docker exec`, measured side by side in one hyperfine run.
// Both projects use the same image and devcontainer.json; forwardPorts is left out of both (devenv does not act on
// it yet, and the devcontainer CLI leaves it to the editor).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DEB = '127.0.0.1:5000/debian:bookworm';
const CONFIG = { image: DEB, postCreateCommand: 'echo hi > /tmp/created' };
const DOCKER = '/usr/bin/docker';

/** Goals from the issue: devenv's median at most `fraction` of the peer's. */
const GOALS = {
  warm: { 'devcontainer up': 1 / 5 },
  cached: { 'devcontainer up': 1 / 3 },
  exec: { 'devcontainer exec': 1 / 5, 'docker exec': 1.2 },
};

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), err: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

function project(base, name) {
  const dir = join(base, name, 'proj');
  mkdirSync(join(dir, '.devcontainer'), { recursive: true });
  writeFileSync(join(dir, '.devcontainer', 'devcontainer.json'), `${JSON.stringify(CONFIG)}\n`);
  return dir;
}

const fraction = (f) => (f < 1 ? `1/${Math.round(1 / f)}` : `${f}x`);

/**
 * Runs the four comparisons; `report(title, ours, peers)` and `note(line)` are run.js's. Throws when devenv
 * itself fails; a missing or failing peer only loses its column.
 */
export function benchUp({ devenv, env, P, runs, hyperfine, report, note, results }) {
  const base = mkdtempSync(join(tmpdir(), 'devenv-bench-up-'));
  const store = join(base, 'store');
  const ours = project(base, 'devenv');
  const theirs = project(base, 'devcontainer');
  const dc = join(P, 'node_modules', '.bin', 'devcontainer');
  const dcArgs = ['--docker-path', DOCKER, '--workspace-folder', theirs]; // --docker-path must follow the subcommand
  const our = (sub, ...rest) => [sub, '--root', store, '--workspace-folder', ours, ...rest];
  const missing = [];
  const skip = (peer, why) => {
    missing.push(`${peer}: SKIPPED (${why})`);
    console.error(`bench up: ${peer} skipped: ${why}`);
  };
  let docker = false;
  let devcontainer = false;
  let dockerCid; // the container `docker exec` runs in
  let ownDockerCid; // one we started ourselves when the devcontainer CLI is missing
  let pulledIntoDocker = false;
  const dockerImagesBefore = new Set();
  try {
    // devenv: image into a private store, then one `up` that must work (else the bench fails).
    let r = run(devenv, ['image', 'pull', '-q', '--root', store, DEB], env);
    if (!r.ok) throw new Error(`devenv image pull ${DEB} failed (is the loopback registry up? ../shared/peers/setup.sh):\n${r.err}`);
    r = run(devenv, our('up', '--json'), env);
    if (!r.ok) throw new Error(`devenv up failed:\n${r.err}\n${r.out}`);
    r = run(devenv, our('exec', 'cat', '/tmp/created'), env);
    if (!r.ok || r.out !== 'hi') throw new Error(`devenv exec after up did not see postCreateCommand's file: ${r.out} ${r.err}`);

    // peers: docker (started by hand, docker-setup.sh) and the devcontainer CLI on it.
    if (!existsSync(DOCKER)) skip('docker and devcontainer CLI', `${DOCKER} not installed: run ../shared/peers/docker-setup.sh`);
    else if (!run(DOCKER, ['info'], env).ok) skip('docker and devcontainer CLI', 'dockerd is not running: start it as ../shared/peers/docker-setup.sh does');
    else {
      for (const id of run(DOCKER, ['images', '-q', '--no-trunc'], env).out.split('\n')) if (id) dockerImagesBefore.add(id);
      pulledIntoDocker = !run(DOCKER, ['image', 'inspect', DEB], env).ok;
      r = pulledIntoDocker ? run(DOCKER, ['pull', '-q', DEB], env) : { ok: true };
      if (!r.ok) skip('docker and devcontainer CLI', `docker pull ${DEB} failed: ${r.err}`);
      else docker = true;
    }
    if (docker && !existsSync(dc)) skip('devcontainer CLI', `${dc} not found: run ../shared/peers/docker-setup.sh`);
    else if (docker) {
      r = run(dc, ['up', ...dcArgs], env);
      const last = r.out.split('\n').pop() ?? '';
      let parsed;
      try {
        parsed = JSON.parse(last);
      } catch {}
      if (!r.ok || parsed?.outcome !== 'success') skip('devcontainer CLI', `devcontainer up failed: ${r.err.split('\n').slice(-5).join(' | ')} ${last}`);
      else {
        devcontainer = true;
        dockerCid = parsed.containerId;
      }
    }
    if (docker && !dockerCid) {
      r = run(DOCKER, ['run', '-d', '--network=none', DEB, 'sleep', 'infinity'], env);
      if (r.ok) dockerCid = ownDockerCid = r.out;
      else skip('docker exec', `docker run failed: ${r.err}`);
    }
    const dcUp = `${dc} up ${dcArgs.join(' ')}`;
    const pick = (res, name, on) => (on ? res[name] : undefined);
    const section = (title, ours, peers, goals) => {
      report(title, ours, peers);
      for (const m of missing) note(m);
      const met = {};
      for (const [peer, f] of Object.entries(goals)) {
        const p = peers[peer];
        if (!p) {
          note(`goal devenv <= ${fraction(f)} of ${peer}: not checked (peer missing)`);
          continue;
        }
        const ratio = ours.median / p.median;
        met[peer] = ratio <= f;
        note(`goal devenv <= ${fraction(f)} of ${peer}: devenv is ${ratio.toFixed(3)} of it -> ${met[peer] ? 'MET' : 'MISSED'}`);
      }
      results[title].goals = Object.fromEntries(Object.entries(goals).map(([peer, f]) => [peer, { maxFraction: f, met: met[peer] ?? null }]));
    };

    note(`\n# dev containers: ${DEB}, postCreateCommand, no forwardPorts; Node CLIs run with NODE_EXTRA_CA_CERTS unset`);
    // 1. warm: the container is running, nothing is due.
    {
      const cmds = { devenv: `${devenv} ${our('up').join(' ')}` };
      if (devcontainer) cmds.devcontainer = dcUp;
      const res = hyperfine(cmds, { runs });
      section('up, container already running (warm)', res.devenv, { 'devcontainer up': pick(res, 'devcontainer', devcontainer) }, GOALS.warm);
    }
    // 3. exec true in the running container.
    {
      const cmds = { devenv: `${devenv} ${our('exec', 'true').join(' ')}` };
      if (devcontainer) cmds.devcontainer = `${dc} exec ${dcArgs.join(' ')} true`;
      if (dockerCid) cmds.docker = `${DOCKER} exec ${dockerCid} true`;
      const res = hyperfine(cmds, { runs });
      section('exec … true in the running dev container', res.devenv, { 'devcontainer exec': pick(res, 'devcontainer', devcontainer), 'docker exec': res.docker }, GOALS.exec);
    }
    // 2. a new container from a cached image each run (postCreateCommand included); --prepare removes the last one.
    {
      const coldRuns = Number(process.env.BENCH_UP_COLD_RUNS ?? Math.min(runs, 15));
      const reset = join(base, 'dc-reset.sh');
      writeFileSync(
        reset,
        `#!/bin/sh\nids=$(${DOCKER} ps -aq --filter label=devcontainer.local_folder=${theirs})\n[ -n "$ids" ] && ${DOCKER} rm -f $ids >/dev/null\nexit 0\n`,
        { mode: 0o755 },
      );
      const cmds = { devenv: `${devenv} ${our('up').join(' ')}` };
      const prepare = [`${devenv} ${our('down').join(' ')}`];
      if (devcontainer) {
        cmds.devcontainer = dcUp;
        prepare.push(reset);
      }
      const res = hyperfine(cmds, { runs: coldRuns, warmup: 1, prepare });
      section('up, new container from a cached image (devenv down / docker rm before each run)', res.devenv, { 'devcontainer up': pick(res, 'devcontainer', devcontainer) }, GOALS.cached);
    }
    // 4. start-up of the CLI alone.
    {
      const cmds = { devenv: `${devenv} --version` };
      if (existsSync(dc)) cmds.devcontainer = `${dc} --version`;
      const res = hyperfine(cmds, { runs });
      section('--version', res.devenv, { 'devcontainer --version': res.devcontainer }, {});
    }
  } finally {
    run(devenv, our('down'), env);
    if (docker) {
      const ids = run(DOCKER, ['ps', '-aq', '--filter', `label=devcontainer.local_folder=${theirs}`], env).out.split('\n').filter(Boolean);
      if (ownDockerCid) ids.push(ownDockerCid);
      if (ids.length) run(DOCKER, ['rm', '-f', ...ids], env);
      // images this bench brought into docker: the pulled one, and any vsc-* the devcontainer CLI built for the project
      const fresh = run(DOCKER, ['images', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'], env)
        .out.split('\n')
        .map((l) => l.split(' '))
        .filter(([id, ref]) => id && !dockerImagesBefore.has(id) && ref?.startsWith('vsc-'))
        .map(([, ref]) => ref);
      if (pulledIntoDocker) fresh.push(DEB);
      if (fresh.length) run(DOCKER, ['rmi', '-f', ...new Set(fresh)], env);
    }
    rmSync(base, { recursive: true, force: true });
  }
}
