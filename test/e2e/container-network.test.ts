import { chownSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { devenvSpawn, testUser, uidOf } from '../support/devenv-cli.js';
import { findHelpers, findHelpersSettled } from '../support/leak-check.js';
import { freePort, httpGet, installPortserver } from '../support/net-client.js';
import { useSuite, type Suite } from '../support/suite.js';

// Private networking (docs/networking.md). The only outside host these tests reach is Debian's repository;
// everything else stays on the host's loopback and the containers' own namespaces.
const registry = inject('devenvE2eRegistry');
const DEBIAN = `${registry}/debian:bookworm`;
const BUSYBOX = `${registry}/busybox:latest`;

function stateOf(s: Suite, id: string): { pid: number; monitorPid: number } {
  return JSON.parse(readFileSync(join(s.root, 'containers', id, 'state.json'), 'utf8')) as { pid: number; monitorPid: number };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The entry names of the top layer of the one image in an `image export --format oci-dir` folder. */
async function topLayerEntries(dir: string): Promise<string[]> {
  const blob = (digest: string): string => join(dir, 'blobs', ...digest.split(':'));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0]?.digest ?? ''), 'utf8')) as { layers: Array<{ digest: string }> };
  let data = readFileSync(blob(manifest.layers[manifest.layers.length - 1]?.digest ?? ''));
  if (data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data);
  const names: string[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    names.push(h.name);
    stream.on('end', () => next());
    stream.resume();
  });
  const done = new Promise<void>((r) => extract.on('finish', () => r()));
  extract.end(data);
  await done;
  return names;
}

/** Processes in the network namespace `ns` (`net:[inode]`), and nsfs mounts keeping it alive. */
function netnsUsers(ns: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) === ns) found.push(`pid ${pid}`);
    } catch {
      // gone, or a kernel thread
    }
  }
  const inode = /\[(\d+)\]/.exec(ns)?.[1];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (inode !== undefined && line.includes(' nsfs ') && line.includes(`net:[${inode}]`)) found.push(`mount ${line}`);
  }
  return found;
}

/** The host's interface names, as /sys/class/net lists them. */
const hostInterfaces = (): string[] => readdirSync('/sys/class/net').sort();

describe.each(['root', 'rootless'] as const)('private networking (%s)', (mode) => {
  const s = useSuite(mode, 'net');
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    installPortserver(s.rootfs, mode === 'root' ? 0 : uidOf(testUser()));
    // A service on the host's loopback only: what host.containers.internal must reach.
    server = createServer((_req, res) => res.end('hello from the host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is the default: lo and eth0 (MTU 65520, IPv4 and IPv6), and the generated /etc files', () => {
    const r = s.runIn(
      ['--rm', '--hostname', 'netbox'],
      ['sh', '-c', 'ls /sys/class/net; cat /sys/class/net/eth0/mtu; grep -c "^fd000000000000000000000000000100 " /proc/net/if_inet6; echo ---; cat /etc/hostname /etc/resolv.conf /etc/hosts'],
    );
    expect(r.code, r.stderr).toBe(0);
    const [head = '', files = ''] = r.stdout.split('---\n');
    expect(head.trim().split('\n')).toEqual(['eth0', 'lo', '65520', '1']);
    const lines = files.split('\n');
    expect(lines[0]).toBe('netbox');
    expect(lines).toContain('nameserver 10.0.2.3');
    expect(lines).toContain('127.0.0.1\tlocalhost');
    expect(lines).toContain('::1\tlocalhost ip6-localhost ip6-loopback');
    expect(lines).toContain('10.0.2.100\tnetbox');
    expect(lines).toContain('10.0.2.2\thost.containers.internal host.docker.internal');
  });

  it('reaches a TCP server on the host\'s 127.0.0.1 as host.containers.internal and host.docker.internal', async () => {
    const r = await s.runAsync([
      'container', 'run', '--rm', '--add-host', 'me:host-gateway', '--rootfs', s.rootfs, 'sh', '-c',
      `for h in host.containers.internal host.docker.internal me; do wget -q -O- http://$h:${port}/ || echo "failed $h"; done`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello from the host\n'.repeat(3));
  });

  it('--network none has only lo, and a hosts file with localhost and its own name', () => {
    const r = s.runIn(['--rm', '--network', 'none', '--hostname', 'alone'], ['sh', '-c', 'ls /sys/class/net; grep -v "^#" /etc/hosts | grep -E "localhost$|alone"']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('lo\n127.0.0.1\tlocalhost\n127.0.1.1\talone\n');
  });

  it('--network host sees the host\'s interfaces and its resolv.conf', () => {
    const r = s.runIn(['--rm', '--network', 'host'], ['sh', '-c', 'ls /sys/class/net; echo ---; cat /etc/resolv.conf']);
    expect(r.code, r.stderr).toBe(0);
    const [names = '', resolv] = r.stdout.split('---\n');
    expect(names.trim().split('\n').sort()).toEqual(hostInterfaces());
    expect(resolv).toBe(readFileSync('/etc/resolv.conf', 'utf8'));
  });

  it('Docker\'s and Podman\'s names for the mode are accepted; unknown ones are refused before anything is made', () => {
    for (const alias of ['bridge', 'slirp4netns', 'pasta']) {
      const r = s.runIn(['--rm', '--network', alias], ['ls', '/sys/class/net']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('eth0\nlo\n');
    }
    const bad = s.runIn(['--rm', '--network', 'macvlan'], ['true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('macvlan');
  });

  it('forwards ports into the private network: -p to a server on the container\'s loopback, automatic to one on eth0', async () => {
    const [hp, auto] = [await freePort(), await freePort()];
    s.trackPorts(hp, auto);
    // the first server listens on the container's 127.0.0.1 only, the second on its eth0 address only
    const r = s.runIn(['-d', '--auto-forward', '-p', `${hp}:8080`], ['/portserver', 'http', '127.0.0.1', '8080', 'http', '10.0.2.100', String(auto)]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    // the automatic forward appears within a scan interval (0.4 s) of the server's start
    const answer = async (port: number): Promise<string> => {
      const deadline = Date.now() + 3000;
      for (;;) {
        const text = await httpGet('127.0.0.1', port, 1000).catch(() => '');
        if (text.includes('200 OK') || Date.now() > deadline) return text;
        await sleep(50);
      }
    };
    expect(await answer(hp)).toContain('hello from 8080');
    expect(await answer(auto)).toContain(`hello from ${auto}`);
    expect(s.run(['container', 'rm', '-f', id]).code).toBe(0);
  });

  it('the helper ends with the container: rm -f, kill -9 of the container, kill -9 of the monitor', async () => {
    const before = findHelpers(s.root).length;
    expect(before).toBe(0);

    const a = s.runIn(['-d'], ['sleep', '300']).stdout.trim();
    expect(findHelpers(s.root)).toHaveLength(1);
    const netns = readlinkSync(`/proc/${stateOf(s, a).pid}/ns/net`);
    expect(netns).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect(netnsUsers(netns).length).toBeGreaterThanOrEqual(2); // the container's init and its command
    expect(s.run(['container', 'rm', '-f', a]).code).toBe(0);
    expect(findHelpers(s.root)).toEqual([]);
    expect(netnsUsers(netns)).toEqual([]); // the namespace is gone with its last process: nothing holds it

    const b = s.runIn(['-d'], ['sleep', '300']).stdout.trim();
    process.kill(stateOf(s, b).pid, 'SIGKILL');
    expect(findHelpersSettled(s.root, 10_000)).toEqual([]);
    expect(s.run(['container', 'rm', '-f', b]).code).toBe(0);

    const c = s.runIn(['-d'], ['sleep', '300']).stdout.trim();
    const monitor = stateOf(s, c).monitorPid;
    process.kill(monitor, 'SIGKILL');
    expect(findHelpersSettled(s.root, 10_000)).toEqual([]);
    expect(s.run(['container', 'rm', '-f', c]).code).toBe(0);
  });

  it('kill -9 of the devenv CLI leaves the container and its network running; rm -f then ends both', async () => {
    const child = devenvSpawn(['container', 'run', '--name', 'cli-killed', '--rootfs', s.rootfs, 'sleep', '300'], { mode, root: s.root });
    const dir = (): string | undefined => readdirSync(join(s.root, 'containers')).find((n) => /^[0-9a-f]{64}$/.test(n));
    await waitFor('the container to start', () => {
      const id = dir();
      try {
        return id !== undefined && stateOf(s, id).pid > 0;
      } catch {
        return false;
      }
    });
    const id = dir() as string;
    const { pid, monitorPid } = stateOf(s, id);
    // The attached runtime's parent is devenv's node process (runuser's child when rootless).
    const cli = Number(readFileSync(`/proc/${monitorPid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
    process.kill(cli, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await sleep(300);
    expect(isAlive(pid)).toBe(true);
    expect(findHelpers(s.root)).toHaveLength(1);
    // runAsync: the server lives in this worker's event loop, which a synchronous spawn would block.
    const r = await s.runAsync(['container', 'exec', 'cli-killed', 'wget', '-q', '-O-', `http://host.containers.internal:${port}/`]);
    expect(r.stdout, r.stderr).toBe('hello from the host\n');
    expect(s.run(['container', 'rm', '-f', 'cli-killed']).code).toBe(0);
    expect(findHelpersSettled(s.root)).toEqual([]);
  });

  it('a helper that cannot start fails the start with a clear error and a way out, leaving nothing', () => {
    const id = s.run(['container', 'create', '--rootfs', s.rootfs, 'true']).stdout.trim();
    const recordPath = join(s.root, 'containers', id, 'container.json');
    const record = JSON.parse(readFileSync(recordPath, 'utf8')) as { spec: { tools: Record<string, string> } };
    record.spec.tools.slirp4netns = '/bin/false';
    writeFileSync(recordPath, JSON.stringify(record));
    const r = s.run(['container', 'start', '-a', id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('network helper');
    expect(r.stderr).toContain('/bin/false');
    expect(r.stderr).toContain('--network host');
    expect(findHelpers(s.root)).toEqual([]);
    expect(s.run(['container', 'rm', id]).code).toBe(0);
  });

  it('a Dockerfile\'s RUN has the private network, and its /etc mount points leave nothing in the layer', async () => {
    // busybox:latest has /etc/hostname but no /etc/hosts or /etc/resolv.conf: the runtime creates empty files to
    // mount them over, which must not become part of the image
    const ctx = join(s.dir, 'build-ctx');
    mkdirSync(ctx, { recursive: true, mode: 0o755 });
    writeFileSync(
      join(ctx, 'Dockerfile'),
      `FROM ${BUSYBOX}\nRUN wget -q -O /from-host http://host.containers.internal:${port}/ && grep -x "nameserver 10.0.2.3" /etc/resolv.conf && ls /sys/class/net > /interfaces\n`,
      { mode: 0o644 },
    );
    const built = await s.runAsync(['image', 'build', '-q', '-t', 'net/built:1', ctx], { timeoutMs: 120_000 });
    expect(built.code, built.stderr).toBe(0);
    const r = await s.runAsync(['container', 'run', '--rm', '--network', 'none', 'net/built:1', 'sh', '-c', 'cat /from-host /interfaces; ls /etc']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello from the host\neth0\nlo\ngroup\nhostname\nhosts\npasswd\n');
    const outDir = join(s.dir, 'build-out');
    mkdirSync(outDir, { mode: 0o755 });
    if (mode === 'rootless') chownSync(outDir, uidOf(testUser()), uidOf(testUser()));
    const exported = s.run(['image', 'export', '--format', 'oci-dir', '-o', join(outDir, 'export'), 'net/built:1']);
    expect(exported.code, exported.stderr).toBe(0);
    const top = await topLayerEntries(join(outDir, 'export'));
    expect(top).toContain('from-host');
    expect(top.filter((n) => /^etc\/(hosts|resolv\.conf|hostname)$/.test(n))).toEqual([]);
  });

  it('Debian: DNS resolves and apt-get update reaches Debian\'s repository', async () => {
    const pull = await s.runAsync(['image', 'pull', '-q', DEBIAN]);
    expect(pull.code, pull.stderr).toBe(0);
    const r = await s.runAsync(
      ['container', 'run', '--rm', DEBIAN, 'sh', '-c', 'getent hosts deb.debian.org && apt-get update -o Acquire::Retries=2 -o Acquire::Languages=none'],
      { timeoutMs: 240_000 },
    );
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^\S+\s+.*deb\.debian\.org/m);
    expect(r.stdout).toMatch(/(Get|Hit):\d+ http:\/\/deb\.debian\.org\/debian bookworm/);
    expect(r.stdout).not.toMatch(/^(Err|W: Failed)/m);
  });
});
