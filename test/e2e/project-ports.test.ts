import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, inject, it } from 'vitest';

import { devenvSpawn, testUser, uidOf } from '../support/devenv-cli.js';
import { hostListeningSockets } from '../support/leak-check.js';
import { httpGet, installPortserver, occupy, waitFor } from '../support/net-client.js';
import { devcontainerJson, makeProject } from '../support/project-fixture.js';
import { useSuite } from '../support/suite.js';

// Port forwarding for `devenv up` projects: forwardPorts/appPort/portsAttributes/runArgs -p, automatic forwarding,
// `devenv ports [add|rm]`. Traffic stays on the host's loopback and in the containers' own network namespaces.
// No network mode is forced: the project containers get the default (private) network.

const registry = inject('devenvE2eRegistry');
const image = `${registry}/busybox:latest`;

interface ProjectPort {
  containerPort: number;
  protocol: string;
  hostIp: string;
  hostIps: string[];
  hostPort: number;
  url?: string;
  label?: string;
  source: string;
}

/** Whether 127.0.0.1:port and [::1]:port can both be bound right now. */
function isFree(port: number): Promise<boolean> {
  const probe = (host: string): Promise<boolean> =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
    });
  return probe('127.0.0.1').then(async (v4) => v4 && probe('::1'));
}

/** The next port at or above `from` that is free, with its neighbour above free too (a moved forward goes there). */
async function highPort(from: number): Promise<number> {
  for (let p = from; p < from + 200; p += 1) if ((await isFree(p)) && (await isFree(p + 1))) return p;
  throw new Error(`no free port pair in ${from}-${from + 200}`);
}

/** devenv's own node process at or below a spawned `runuser … node bin/devenv up …` (to signal it by PID). */
function devenvNodePid(pid: number): number | undefined {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // gone
  }
  let cmd = '';
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    // gone
  }
  for (const c of children) {
    const below = devenvNodePid(c);
    if (below !== undefined) return below;
  }
  return cmd.startsWith(process.execPath) && cmd.includes('bin/devenv up') ? pid : undefined;
}

describe.each(['root', 'rootless'] as const)('project port forwarding (%s)', (mode) => {
  const s = useSuite(mode, 'project-ports');
  const uid = mode === 'root' ? 0 : uidOf(testUser());
  // each mode its own range of unusual ports, so that runs of both never meet
  let next = mode === 'root' ? 47100 : 47500;
  const port = async (): Promise<number> => {
    const p = await highPort(next);
    next = p + 3;
    s.trackPorts(p, p + 1);
    return p;
  };

  const project = (name: string, config: object): string => {
    const folder = makeProject(s.dir, name, mode, devcontainerJson({ image, ...config }));
    installPortserver(folder, uid); // /workspaces/<name>/portserver in the container
    return folder;
  };
  const up = (folder: string, extra: string[] = []) => s.run(['up', '--json', '--workspace-folder', folder, ...extra], { timeoutMs: 180_000 });
  const down = (folder: string): void => {
    const r = s.run(['down', '--workspace-folder', folder]);
    expect(r.code, r.stderr).toBe(0);
  };
  /** Start portserver in the project container through `devenv exec`, in the background. */
  const serve = (folder: string, name: string, address: string, containerPort: number): void => {
    const r = s.run(['exec', '--workspace-folder', folder, 'sh', '-c', `/workspaces/${name}/portserver http ${address} ${containerPort} >/dev/null 2>&1 &`]);
    expect(r.code, r.stderr).toBe(0);
  };
  const ports = (folder: string): ProjectPort[] => {
    const r = s.run(['ports', '--json', '--workspace-folder', folder]);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { ports: ProjectPort[] }).ports;
  };
  const answers = async (hostPort: number, host = '127.0.0.1', timeoutMs = 3000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const text = await httpGet(host, hostPort, 1000);
        if (text.includes('200 OK')) return text;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) return '';
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const listening = (p: number): string[] => hostListeningSockets().filter((x) => x.port === p).map((x) => `${x.proto} ${x.address}`);

  it('forwardPorts, appPort and runArgs -p: up lists the forwards, servers in the container answer on them', async () => {
    const [web, app, pub] = [await port(), await port(), await port()];
    const folder = project('fwd', {
      forwardPorts: [web],
      appPort: app,
      runArgs: ['-p', `${pub}:8080`],
      portsAttributes: { [String(web)]: { label: 'web' } },
    });
    const r = up(folder);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { outcome: string; containerId: string; remoteUser: string; forwardedPorts: ProjectPort[] };
    expect(result).toMatchObject({ outcome: 'success', remoteUser: 'root' });
    const byPort = (list: ProjectPort[]) => list.map((p) => [p.containerPort, p.hostPort, p.label ?? '', p.source, p.url]).sort();
    const expected = [
      [8080, pub, '', 'config', `http://127.0.0.1:${pub}`],
      [app, app, '', 'config', `http://127.0.0.1:${app}`],
      [web, web, 'web', 'config', `http://127.0.0.1:${web}`],
    ].sort();
    expect(byPort(result.forwardedPorts)).toEqual(expected);
    expect(result.forwardedPorts[0]?.hostIps).toEqual(['127.0.0.1', '::1']);

    // the servers listen on the container's loopback only: the forwards connect inside its network namespace
    serve(folder, 'fwd', '127.0.0.1', web);
    serve(folder, 'fwd', '127.0.0.1', app);
    serve(folder, 'fwd', '::1', 8080);
    expect(await answers(web)).toContain(`hello from ${web}`);
    expect(await answers(web, '::1')).toContain(`hello from ${web}`);
    expect(await answers(app)).toContain(`hello from ${app}`);
    expect(await answers(pub)).toContain('hello from 8080');
    expect(listening(web).sort()).toEqual(['tcp 127.0.0.1', 'tcp6 ::1']);

    // `devenv ports` and the human `up` (warm path) list the same; `ps` shows the live forwards
    expect(byPort(ports(folder))).toEqual(expected);
    const human = s.run(['up', '--workspace-folder', folder]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`port ${web} → http://127.0.0.1:${web} (web)\n`);
    expect(human.stdout).toContain(`port 8080 → http://127.0.0.1:${pub}\n`);
    const table = s.run(['ports', '--workspace-folder', folder]);
    expect(table.stdout).toMatch(new RegExp(`^${web}/tcp\\s+127\\.0\\.0\\.1, ::1\\s+${web}\\s+web\\s+config\\s+http://127\\.0\\.0\\.1:${web}$`, 'm'));
    const ps = JSON.parse(s.run(['ps', '--json']).stdout) as { containerId: string; ports: number[]; forwardedPorts: ProjectPort[] }[];
    const env = ps.find((e) => e.containerId === result.containerId);
    expect(env?.ports).toEqual([web]); // forwardPorts as configured, for editors
    expect(byPort(env?.forwardedPorts ?? [])).toEqual(expected);
    expect(s.run(['ps']).stdout).toContain(`127.0.0.1:${web}->${web}/tcp`);

    down(folder);
    for (const p of [web, app, pub]) expect(listening(p)).toEqual([]);
  });

  it('forwards a port a server opens after start (through devenv exec) within 2 s, except ignored ones; up --watch tells', async () => {
    const [auto, ignored] = [await port(), await port()];
    const folder = project('auto', { portsAttributes: { [String(ignored)]: { onAutoForward: 'ignore' }, [`${auto}-${auto + 1}`]: { label: 'dev server' } } });
    const child = devenvSpawn(['up', '--watch', '--workspace-folder', folder], { mode, root: s.root });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const seen = async (text: string, ms: number): Promise<boolean> => (await waitFor(() => (out.includes(text) ? true : undefined), ms, 50)) === true;
    try {
      expect(await seen('Watching', 180_000), out).toBe(true);
      expect(out).not.toContain('port '); // nothing forwarded yet

      serve(folder, 'auto', '127.0.0.1', ignored);
      const t0 = Date.now();
      serve(folder, 'auto', '0.0.0.0', auto);
      const found = await waitFor(() => ports(folder).find((p) => p.containerPort === auto), 2000, 100);
      expect(found, 'the new listener was not forwarded within 2 s').toMatchObject({ hostPort: auto, source: 'auto', label: 'dev server', protocol: 'tcp' });
      console.log(`project auto-forward (${mode}): ${Date.now() - t0} ms from exec to \`devenv ports\` listing it`);
      expect(await answers(auto)).toContain(`hello from ${auto}`);
      // the watching up says so as it happens
      expect(await seen(`port ${auto} → http://127.0.0.1:${auto} (dev server), forwarded automatically\n`, 2000), out).toBe(true);
      // the ignored one listens as long, but is never forwarded
      expect(ports(folder).map((p) => p.containerPort)).toEqual([auto]);
      expect(listening(ignored)).toEqual([]);

      // a server that stops listening loses its automatic forward
      expect(s.run(['exec', '--workspace-folder', folder, 'killall', 'portserver']).code).toBe(0);
      expect(await waitFor(() => (ports(folder).length === 0 ? true : undefined), 2000, 100)).toBe(true);
      expect(listening(auto)).toEqual([]);
      expect(await seen(`port ${auto} is no longer forwarded (dev server)`, 2000), out).toBe(true);
      expect(out).not.toContain(`port ${ignored}`);
    } finally {
      const node = devenvNodePid(child.pid as number);
      if (node !== undefined) process.kill(node, 'SIGINT');
      else child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    }
    expect(child.exitCode).toBe(0);
    down(folder);
  });

  it('a taken host port: requireLocalPort fails up naming the port and the property; without it the next free port', async () => {
    const taken = await port();
    const blocker = await occupy(taken);
    try {
      const strict = project('strict', { forwardPorts: [taken], portsAttributes: { [String(taken)]: { requireLocalPort: true } } });
      const failed = up(strict);
      expect(failed.code).toBe(1);
      const error = JSON.parse(failed.stdout) as { outcome: string; code: string; message: string; hint: string };
      expect(error).toMatchObject({ outcome: 'error', code: 'PORT_IN_USE' });
      expect(error.message).toContain(`host port ${taken} is in use (portsAttributes["${taken}"].requireLocalPort requires it, for container port ${taken})`);
      expect(error.hint).toContain('devcontainer.json');
      const human = s.run(['up', '--workspace-folder', strict], { timeoutMs: 180_000 });
      expect(human.code).toBe(1);
      expect(human.stderr).toContain(`host port ${taken} is in use`);
      expect(human.stderr).toContain(`portsAttributes["${taken}"].requireLocalPort`);

      const lenient = project('lenient', { forwardPorts: [taken], portsAttributes: { [String(taken)]: { label: 'api' } } });
      const moved = s.run(['up', '--workspace-folder', lenient], { timeoutMs: 180_000 });
      expect(moved.code, moved.stderr).toBe(0);
      const m = new RegExp(`host port ${taken} is in use; container port ${taken}/tcp is forwarded to 127\\.0\\.0\\.1:(\\d+) instead`).exec(moved.stderr);
      expect(m, moved.stderr).not.toBeNull();
      const got = Number(m?.[1]);
      expect(got).toBeGreaterThan(taken);
      s.trackPorts(got);
      expect(moved.stdout).toContain(`port ${taken} → http://127.0.0.1:${got} (api)\n`);
      serve(lenient, 'lenient', '127.0.0.1', taken);
      expect(await answers(got)).toContain(`hello from ${taken}`);
      down(lenient);
      expect(listening(got)).toEqual([]);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    // once the port is free, the next up starts the container that was made
    const strict = `${s.dir}/strict`;
    const again = up(strict);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ action: 'started', forwardedPorts: [{ containerPort: taken, hostPort: taken, requireLocalPort: true }] });
    down(strict);
    expect(listening(taken)).toEqual([]);
  });

  it('ports add and rm while the container runs; clear errors when it is not; nothing left after down', async () => {
    const [cp, hp] = [await port(), await port()];
    // ignored for automatic forwarding, so only `ports add` forwards it
    const folder = project('manual', { portsAttributes: { [String(cp)]: { onAutoForward: 'ignore' } } });
    const none = s.run(['ports', '--workspace-folder', folder]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no dev container for ${folder}`);
    const r = up(folder);
    expect(r.code, r.stderr).toBe(0);
    serve(folder, 'manual', '127.0.0.1', cp);

    const added = s.run(['ports', 'add', `${hp}:${cp}`, '--label', 'extra', '--require-local-port', '--json', '--workspace-folder', folder]);
    expect(added.code, added.stderr).toBe(0);
    expect((JSON.parse(added.stdout) as { ports: ProjectPort[] }).ports).toMatchObject([{ containerPort: cp, hostPort: hp, label: 'extra', source: 'cli' }]);
    expect(await answers(hp)).toContain(`hello from ${cp}`);
    expect(ports(folder).map((p) => [p.containerPort, p.hostPort, p.label, p.source])).toEqual([[cp, hp, 'extra', 'cli']]);

    // the same host port again, required: refused; not required: the next free one, with a warning
    const refused = s.run(['ports', 'add', `${hp}:${cp + 1}`, '--require-local-port', '--workspace-folder', folder]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`host port ${hp} is in use`);
    const movedAdd = s.run(['ports', 'add', `${hp}:${cp + 1}`, '--workspace-folder', folder]);
    expect(movedAdd.code, movedAdd.stderr).toBe(0);
    expect(movedAdd.stderr).toMatch(new RegExp(`host port ${hp} is in use; container port ${cp + 1}/tcp is forwarded to 127\\.0\\.0\\.1:\\d+ instead`));
    const second = ports(folder).find((p) => p.containerPort === cp + 1);
    expect(second?.hostPort).toBeGreaterThan(hp);
    s.trackPorts(second?.hostPort as number);

    const rm = s.run(['ports', 'rm', String(cp), '--workspace-folder', folder]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toBe(`port ${cp} is no longer forwarded (was http://127.0.0.1:${hp})\n`);
    expect(listening(hp)).toEqual([]);
    const again = s.run(['ports', 'rm', String(cp), '--json', '--workspace-folder', folder]);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'error', code: 'PORT_FORWARD' });
    const bad = s.run(['ports', 'rm', 'http', '--workspace-folder', folder]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('`http` is not a container port');

    const monitorHeld = s.leaks().processes;
    expect(monitorHeld.length).toBeGreaterThan(0); // the container and its monitor run now
    expect(s.run(['stop', '--workspace-folder', folder]).code).toBe(0);
    const stopped = s.run(['ports', 'add', String(cp), '--workspace-folder', folder]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('is not running');
    expect(stopped.stderr).toContain('devenv up');
    down(folder);
    // no forward listens any more, and no monitor (or other process of the store) is left
    expect(listening(hp)).toEqual([]);
    expect(listening(second?.hostPort as number)).toEqual([]);
    const leaks = s.leaks();
    expect(leaks.processes).toEqual([]);
    expect(leaks.ports).toEqual([]);
  });
});
