import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createStderrLogger } from '../../src/host/logger.js';
import { findRecord } from '../../src/runtime/container-store.js';
import { readPortEvents, readPortsFile, type PortForward } from '../../src/runtime/ports/ports-state.js';
import { addPort, removePort } from '../../src/services/container/ports.js';
import { DEVENV_BIN, testUser, uidOf } from '../support/devenv-cli.js';
import { hostListeningSockets } from '../support/leak-check.js';
import { cpuTicks, echoRoundTrip, fdCount, freePort, httpGet, installPortserver, occupy, udpEcho, waitFor } from '../support/net-client.js';
import { useSuite } from '../support/suite.js';

// Traffic stays on the host's loopback and in the containers' own network namespaces (--network none: loopback
// only). The servers are test/fixtures/portserver (busybox httpd listens with a backlog of 9, which drops bursts).

describe.each(['root', 'rootless'] as const)('port forwarding (%s)', (mode) => {
  const s = useSuite(mode, 'ports');
  const uid = mode === 'root' ? 0 : uidOf(testUser());
  const ctx = () => ({ root: s.root, logger: createStderrLogger('error') });

  beforeAll(() => installPortserver(s.rootfs, uid));
  // A failed test must not leave its containers to the suite's leak check (which runs before the clean-up).
  afterEach(() => {
    for (const c of JSON.parse(s.run(['container', 'ls', '-a', '--json']).stdout) as { id: string; name: string }[]) {
      if (c.name !== `web-${mode}`) s.run(['container', 'rm', '-f', c.id]);
    }
  });

  const bundle = (id: string): string => join(s.root, 'containers', id);
  const monitorPid = (id: string): number => (JSON.parse(readFileSync(join(bundle(id), 'state.json'), 'utf8')) as { monitorPid: number }).monitorPid;
  const forwards = (id: string): PortForward[] => readPortsFile(bundle(id))?.forwards ?? [];
  const listening = (port: number): string[] => hostListeningSockets().filter((x) => x.port === port).map((x) => `${x.proto} ${x.address}`);
  const start = (flags: string[], command: string[]): string => {
    const r = s.runIn(['-d', '--network', 'none', ...flags], command);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const remove = (id: string): void => {
    expect(s.run(['container', 'rm', '-f', id]).code).toBe(0);
  };
  const answers = async (port: number, host = '127.0.0.1', timeoutMs = 3000): Promise<string> =>
    (await waitForAsync(async () => {
      try {
        const text = await httpGet(host, port, 1000);
        return text.includes('200 OK') ? text : undefined;
      } catch {
        return undefined;
      }
    }, timeoutMs)) ?? '';

  it('an HTTP server in the container answers on the forwarded host port, on 127.0.0.1 and ::1', async () => {
    const [hp, hp2] = [await freePort(), await freePort()];
    s.trackPorts(hp, hp2);
    // portserver listens on the container's loopback only: the connection must be made inside its namespace
    const id = start(['--name', `web-${mode}`, '-p', `${hp}:8080`, '-p', `${hp2}:8081`], [
      'sh',
      '-c',
      'mkdir -p /www && echo busybox > /www/index.html && httpd -f -p 8081 -h /www & exec /portserver http 127.0.0.1 8080',
    ]);
    expect(await answers(hp)).toContain('hello from 8080');
    expect(await answers(hp, '::1')).toContain('hello from 8080');
    expect(await answers(hp2)).toContain('busybox');

    const port = JSON.parse(s.run(['container', 'port', '--json', `web-${mode}`]).stdout) as { forwards: PortForward[] };
    expect(port.forwards.map((f) => [f.containerPort, f.hostPort, f.hostIps, f.protocol, f.source])).toEqual([
      [8080, hp, ['127.0.0.1', '::1'], 'tcp', 'cli'],
      [8081, hp2, ['127.0.0.1', '::1'], 'tcp', 'cli'],
    ]);
    expect(s.run(['container', 'port', `web-${mode}`, '8080']).stdout).toBe(`8080/tcp -> 127.0.0.1:${hp}\n8080/tcp -> [::1]:${hp}\n`);
    expect(readPortEvents(bundle(id)).events.filter((e) => e.event === 'forwarded').map((e) => e.containerPort)).toEqual([8080, 8081]);
    // nothing listens beyond loopback
    expect(listening(hp).sort()).toEqual(['tcp 127.0.0.1', 'tcp6 ::1']);
  });

  it('forwarding survives stop and start; nothing listens while stopped or after rm', async () => {
    const name = `web-${mode}`;
    const hp = forwards(findRecord(s.root, name).id)[0]?.hostPort as number;
    expect(s.run(['container', 'stop', '-t', '1', name]).code).toBe(0);
    expect(listening(hp)).toEqual([]);
    const id = findRecord(s.root, name).id;
    expect(existsSync(join(bundle(id), 'ports.json'))).toBe(false);
    expect(existsSync(join(bundle(id), 'ports.sock'))).toBe(false);
    expect(s.run(['container', 'start', name]).code).toBe(0);
    expect(await answers(hp)).toContain('hello from 8080');
    remove(name);
    expect(listening(hp)).toEqual([]);
  });

  it('forwards a port opened after start within a second, and removes it when it closes', async () => {
    const cp = await freePort();
    s.trackPorts(cp);
    const id = start(['--auto-forward'], ['sleep', '3600']);
    const t0 = Date.now();
    expect(s.run(['container', 'exec', '-d', id, '/portserver', 'http', '0.0.0.0', String(cp)]).code).toBe(0);
    const fwd = await waitFor(() => forwards(id).find((f) => f.containerPort === cp), 2000);
    const latency = Date.now() - t0;
    expect(fwd, 'the new listener was not forwarded within 2 s').toMatchObject({ hostPort: cp, source: 'auto', protocol: 'tcp' });
    console.log(`auto-forward (${mode}): ${latency} ms from exec to forward`);
    expect(latency).toBeLessThan(1500);
    expect(await answers(cp)).toContain(`hello from ${cp}`);

    expect(s.run(['container', 'exec', id, 'killall', 'portserver']).code).toBe(0);
    expect(await waitFor(() => (forwards(id).some((f) => f.containerPort === cp) ? undefined : true), 2000)).toBe(true);
    expect(listening(cp)).toEqual([]);
    const events = readPortEvents(bundle(id)).events.filter((e) => e.containerPort === cp).map((e) => `${e.event} ${e.source}`);
    expect(events).toEqual(['forwarded auto', 'removed auto']);

    // A forward the user removes stays removed while the listener lives.
    expect(s.run(['container', 'exec', '-d', id, '/portserver', 'http', '0.0.0.0', String(cp)]).code).toBe(0);
    expect(await waitFor(() => forwards(id).find((f) => f.containerPort === cp), 2000)).toBeDefined();
    const removed = await removePort(ctx(), findRecord(s.root, id), cp);
    expect(removed.map((f) => f.source)).toEqual(['auto']);
    await new Promise((r) => setTimeout(r, 800));
    expect(forwards(id).some((f) => f.containerPort === cp)).toBe(false);
    remove(id);
  });

  it('a taken host port: requireLocalPort fails the start naming the port; without it, the next free port and a warning', async () => {
    const hp = await freePort();
    s.trackPorts(hp, hp + 1);
    const blocker = await occupy(hp);
    try {
      const refused = s.runIn(['-d', '--network', 'none', '-p', `${hp}:8080`], ['/portserver', 'http', '0.0.0.0', '8080']);
      expect(refused.code).toBe(125);
      expect(refused.stderr).toContain(`host port ${hp} is in use`);
      const json = s.runIn(['-d', '--json', '--network', 'none', '-p', `${hp}:8080`], ['/portserver', 'http', '0.0.0.0', '8080']);
      expect(JSON.parse(json.stdout)).toMatchObject({ outcome: 'error', code: 'PORT_IN_USE' });
      expect(JSON.parse(s.run(['container', 'ls', '--json']).stdout)).toEqual([]);

      // -p CONTAINER_PORT: the same host port when free, else the next one
      const r = s.runIn(['-d', '--network', 'none', '-p', String(hp)], ['/portserver', 'http', '0.0.0.0', String(hp)]);
      expect(r.code, r.stderr).toBe(0);
      const m = new RegExp(`host port ${hp} is in use; container port ${hp}/tcp is forwarded to 127\\.0\\.0\\.1:(\\d+) instead`).exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      const got = Number(m?.[1]);
      expect(got).toBeGreaterThan(hp);
      s.trackPorts(got);
      expect(await answers(got)).toContain(`hello from ${hp}`);
      remove(r.stdout.trim());
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('adds and removes forwards while the container runs (ports.sock)', async () => {
    // a container created with a forward (here one to a port nothing listens on) serves ports.sock; the server
    // listens on ::1 only: the forward reaches it through ::1 after 127.0.0.1 is refused
    const id = start(['-p', '0:8081'], ['/portserver', 'http', '::1', '8080']);
    const record = findRecord(s.root, id);
    const [added] = await addPort(ctx(), record, '0:8080');
    const hp = added?.forward.hostPort as number;
    s.trackPorts(hp);
    expect(added?.forward).toMatchObject({ containerPort: 8080, source: 'cli' });
    expect(await answers(hp)).toContain('hello from 8080');
    await expect(addPort(ctx(), record, { containerPort: 8080, hostPort: hp, protocol: 'tcp', source: 'cli' })).rejects.toMatchObject({ code: 'PORT_FORWARD' });
    expect((await removePort(ctx(), record, 8080)).map((f) => f.hostPort)).toEqual([hp]);
    expect(listening(hp)).toEqual([]);
    await expect(removePort(ctx(), record, 8080)).rejects.toMatchObject({ code: 'PORT_FORWARD' });
    remove(id);
  });

  it('UDP forwards carry datagrams both ways', async () => {
    const hp = await freePort();
    s.trackPorts(hp);
    const id = start(['-p', `${hp}:9100/udp`], ['/portserver', 'udp', '127.0.0.1', '9100']);
    expect(await udpEcho('127.0.0.1', hp, 20)).toBe(20);
    expect(await udpEcho('::1', hp, 20)).toBe(20);
    remove(id);
  });

  it('relays large transfers intact, propagates half-close, and survives resets and slow readers', async () => {
    const hp = await freePort();
    s.trackPorts(hp);
    const id = start(['-p', `${hp}:9000`], ['/portserver', 'echo', '::', '9000']);
    await answersEcho(hp);
    const mon = monitorPid(id);
    const fds0 = await settledFdCount(mon);
    expect(await echoRoundTrip('127.0.0.1', hp, 3)).toBe(true);
    expect(await echoRoundTrip('::1', hp, 16 << 20)).toBe(true);

    // A client that resets mid-stream, and one that writes without reading: the monitor neither leaks nor spins.
    const reset = await openSocket(hp);
    reset.write(Buffer.alloc(200_000));
    reset.resetAndDestroy();
    const slow = await openSocket(hp);
    slow.pause();
    const t0 = cpuTicks(mon);
    for (let i = 0; i < 200; i += 1) slow.write(Buffer.alloc(65536));
    await new Promise((r) => setTimeout(r, 1500));
    expect(cpuTicks(mon) - t0).toBeLessThanOrEqual(20); // busy-looping would be ~150 ticks in 1.5 s
    slow.destroy();
    expect(await waitFor(() => (fdCount(mon) === fds0 ? true : undefined), 2000), `monitor fds ${fds0} -> ${fdCount(mon)}: ${fdList(mon)}`).toBe(true);
    remove(id);
  });

  it('load: 200 concurrent and 5,000 sequential connections through one forward, no error, no fd growth', async () => {
    const hp = await freePort();
    s.trackPorts(hp);
    const id = start(['-p', `${hp}:8080`], ['/portserver', 'http', '0.0.0.0', '8080']);
    expect(await answers(hp)).toContain('hello');
    const mon = monitorPid(id);
    const fds0 = await settledFdCount(mon);

    const sockets = await Promise.all(Array.from({ length: 200 }, () => openSocket(hp)));
    expect(fdCount(mon)).toBeGreaterThan(fds0 + 200); // all 200 are open at once
    const replies = await Promise.all(sockets.map((sock) => request(sock)));
    expect(replies.filter((r) => r.includes('200 OK'))).toHaveLength(200);

    const t0 = Date.now();
    let ok = 0;
    for (let i = 0; i < 5000; i += 1) if ((await httpGet('127.0.0.1', hp)).includes('200 OK')) ok += 1;
    console.log(`5000 sequential connections (${mode}): ${Math.round(5000 / ((Date.now() - t0) / 1000))}/s`);
    expect(ok).toBe(5000);
    expect(await waitFor(() => (fdCount(mon) === fds0 ? true : undefined), 2000), `monitor fds ${fds0} -> ${fdCount(mon)}`).toBe(true);
    remove(id);
  });

  it('out of file descriptors: clients wait instead of being dropped, and nothing spins', async () => {
    const hp = await freePort();
    s.trackPorts(hp);
    // the monitor inherits RLIMIT_NOFILE 64 from the CLI: room for a handful of connections only
    const args = ['container', 'run', '-d', '--network', 'none', '-p', `${hp}:8080`, '--rootfs', s.rootfs, '/portserver', 'http', '0.0.0.0', '8080'];
    const env = [`DEVENV_ROOT=${s.root}`, 'NODE_EXTRA_CA_CERTS='];
    const argv = mode === 'root' ? ['--nofile=64:64', 'env', ...env, process.execPath, DEVENV_BIN, ...args] : ['--nofile=64:64', 'runuser', '-u', testUser(), '--', 'env', ...env, process.execPath, DEVENV_BIN, ...args];
    const r = spawnSync('prlimit', argv, { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const mon = monitorPid(id);
    expect(readFileSync(`/proc/${mon}/limits`, 'utf8')).toMatch(/Max open files\s+64\s+64/);
    const t0 = cpuTicks(mon);
    const sockets = await Promise.all(Array.from({ length: 60 }, () => openSocket(hp)));
    await new Promise((res) => setTimeout(res, 1000));
    expect(cpuTicks(mon) - t0).toBeLessThanOrEqual(20);
    const replies = await Promise.all(sockets.map((sock) => request(sock)));
    expect(replies.filter((x) => x.includes('200 OK'))).toHaveLength(60);
    expect(readPortEvents(bundle(id)).events.some((e) => e.event === 'failed' && e.code === 'EMFILE')).toBe(true);
    remove(id);
  });

  it('a container created without ports has no forwarder (no ports.sock, nothing to add to)', async () => {
    const id = start([], ['sleep', '300']);
    expect(existsSync(join(bundle(id), 'ports.sock'))).toBe(false);
    expect(JSON.parse(s.run(['container', 'port', '--json', id]).stdout)).toMatchObject({ running: true, forwards: [] });
    await expect(addPort(ctx(), findRecord(s.root, id), '8080')).rejects.toMatchObject({ code: 'PORT_FORWARD', message: expect.stringMatching(/created without port forwarding/) });
    remove(id);
  });

  it('with --network host, -p is ignored with a warning', () => {
    const r = s.runIn(['--rm', '--network', 'host', '-p', '1:80'], ['true']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/host network/);
  });
});

async function waitForAsync<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function fdList(pid: number): string {
  return readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return `${fd}=${readlinkSync(`/proc/${pid}/fd/${fd}`)}`;
      } catch {
        return fd;
      }
    })
    .join(' ');
}

/** The fd count of a process once connections that just ended are closed (two equal reads 200 ms apart). */
async function settledFdCount(pid: number): Promise<number> {
  let last = fdCount(pid);
  for (let i = 0; i < 20; i += 1) {
    await new Promise((r) => setTimeout(r, 200));
    const now = fdCount(pid);
    if (now === last) return now;
    last = now;
  }
  return last;
}

async function answersEcho(port: number): Promise<void> {
  const ok = await waitForAsync(async () => ((await echoRoundTrip('127.0.0.1', port, 1).catch(() => false)) ? true : undefined), 3000);
  expect(ok).toBe(true);
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

function request(sock: Socket): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('error', () => resolve(data));
    sock.on('close', () => resolve(data));
    sock.write('GET / HTTP/1.0\r\n\r\n');
    sock.resume();
  });
}
