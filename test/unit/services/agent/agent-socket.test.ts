import { connect } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { hostAgentSocket, isAgentForwardingOff } from '../../../../src/services/agent/agent-env.js';
import { AGENT_MOUNT_TARGET, agentDirMode, agentMount, findAgentDir } from '../../../../src/services/agent/agent-mount.js';
import { listenAgentRelay, listenPathFor } from '../../../../src/services/agent/agent-relay.js';
import { hostIdsOf, isFirstWarning, planRelaySocket, relaySocketName, relaySocketPid, removeStaleSockets } from '../../../../src/services/agent/agent-socket.js';
import type { ContainerRecord } from '../../../../src/runtime/container-store.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'devenv-agent-unit-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A record with just what the agent code reads: mounts, id mappings, and a layer holding /etc/passwd. */
function record(options: { agentDir?: string; idMappings?: ContainerRecord['spec']['idMappings'] }): Pick<ContainerRecord, 'spec' | 'name' | 'id'> {
  const layer = tempDir();
  mkdirSync(join(layer, 'etc'));
  writeFileSync(join(layer, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n');
  writeFileSync(join(layer, 'etc', 'group'), 'root:x:0:\nuser:x:1000:\n');
  const mounts = [{ type: 'bind' as const, source: '/src', target: '/workspaces/x', readonly: false }, ...(options.agentDir ? [agentMount(options.agentDir)] : [])];
  return {
    id: 'c0ffee',
    name: 'proj-1234',
    spec: { mounts, idMappings: options.idMappings ?? null, rootfs: { driver: 'overlay', lowerdirs: [layer] } } as unknown as ContainerRecord['spec'],
  };
}

const KEEP_ID = {
  uid: [
    { containerID: 0, hostID: 100000, size: 1000 },
    { containerID: 1000, hostID: 1500, size: 1 },
    { containerID: 1001, hostID: 101000, size: 64535 },
  ],
  gid: [
    { containerID: 0, hostID: 100000, size: 1000 },
    { containerID: 1000, hostID: 1500, size: 1 },
    { containerID: 1001, hostID: 101000, size: 64535 },
  ],
};

describe('agent environment switches', () => {
  it('forwards $SSH_AUTH_SOCK unless DEVENV_FORWARD_AGENT turns it off; an empty one is none', () => {
    expect(hostAgentSocket({ SSH_AUTH_SOCK: '/tmp/a.sock' })).toBe('/tmp/a.sock');
    expect(hostAgentSocket({ SSH_AUTH_SOCK: '' })).toBeUndefined();
    expect(hostAgentSocket({})).toBeUndefined();
    for (const off of ['0', 'false', 'NO', 'off']) expect(hostAgentSocket({ SSH_AUTH_SOCK: '/tmp/a.sock', DEVENV_FORWARD_AGENT: off })).toBeUndefined();
    expect(isAgentForwardingOff({ DEVENV_FORWARD_AGENT: '1' })).toBe(false);
  });
});

describe('agent mount', () => {
  it('is found in records that have it, and missing from older ones', () => {
    expect(findAgentDir(record({ agentDir: '/store/projects/x.agent' }))).toBe('/store/projects/x.agent');
    expect(findAgentDir(record({}))).toBeUndefined();
    expect(agentMount('/d')).toEqual({ type: 'bind', source: '/d', target: AGENT_MOUNT_TARGET, readonly: false });
    expect(agentDirMode(true)).toBe(0o700);
    expect(agentDirMode(false)).toBe(0o711);
  });
});

describe('relay socket names and stale sockets', () => {
  it('carry the client pid', () => {
    const name = relaySocketName(4242);
    expect(name).toMatch(/^4242\.[0-9a-f]+\.sock$/);
    expect(relaySocketPid(name)).toBe(4242);
    expect(relaySocketPid('notes.txt')).toBeUndefined();
    expect(relaySocketPid('12.zz.sock')).toBeUndefined();
  });

  it('removes only the sockets of clients that are gone', () => {
    const dir = tempDir();
    for (const n of ['111.aa.sock', '222.bb.sock', 'other-file']) writeFileSync(join(dir, n), '');
    const removed = removeStaleSockets(dir, (pid) => pid === 222);
    expect(removed).toEqual(['111.aa.sock']);
    expect(readdirSync(dir).sort()).toEqual(['222.bb.sock', 'other-file']);
    expect(removeStaleSockets(join(dir, 'missing'))).toEqual([]);
  });
});

describe('planRelaySocket', () => {
  it('asks for a rebuild, once, when the container predates the agent mount', () => {
    const r = record({});
    const outcome = planRelaySocket(r, 'user', { uid: 0, pid: 7 });
    expect(outcome).toMatchObject({ once: 'agent-mount' });
    expect('warning' in outcome && outcome.warning).toContain('devenv up --rebuild');
    const root = tempDir();
    mkdirSync(join(root, 'containers', r.id), { recursive: true });
    expect(isFirstWarning(root, r, 'agent-mount')).toBe(true);
    expect(isFirstWarning(root, r, 'agent-mount')).toBe(false);
  });

  it('as root, chowns the socket to the host ids the user maps to', () => {
    const outcome = planRelaySocket(record({ agentDir: '/s/p.agent' }), 'user', { uid: 0, pid: 7 });
    expect('plan' in outcome && outcome.plan).toMatchObject({ dir: '/s/p.agent', dirMode: 0o711, owner: { uid: 1000, gid: 1000 } });
    if (!('plan' in outcome)) throw new Error('no plan');
    expect(outcome.plan.containerPath).toMatch(/^\/run\/devenv-agent\/7\.[0-9a-f]+\.sock$/);
    expect(outcome.plan.hostPath).toBe(join('/s/p.agent', outcome.plan.containerPath.split('/').pop() as string));
  });

  it('rootless, serves users mapped to the invoking user and container root, and says why not for others', () => {
    const r = record({ agentDir: '/s/p.agent', idMappings: KEEP_ID });
    expect(hostIdsOf(r, { uid: 1000, gid: 1000 })).toEqual({ uid: 1500, gid: 1500 });
    const mine = planRelaySocket(r, 'user', { uid: 1500, pid: 7 });
    expect('plan' in mine && mine.plan.owner).toBeUndefined();
    expect('plan' in mine && mine.plan.dirMode).toBe(0o700);
    expect('plan' in planRelaySocket(r, 'root', { uid: 1500, pid: 7 })).toBe(true);
    const other = planRelaySocket(r, '2000', { uid: 1500, pid: 7 });
    expect('warning' in other && other.warning).toContain('maps to host uid 101999');
  });
});

describe('listenAgentRelay', () => {
  it('relays each connection to the upstream, binds long paths through the directory fd, and removes its socket on close', async () => {
    // deeper than sun_path's 108 bytes
    const dir = join(tempDir(), 'd'.repeat(60), 'e'.repeat(60));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const hostPath = join(dir, relaySocketName(process.pid));
    expect(listenPathFor(hostPath).path).toMatch(/^\/proc\/self\/fd\/\d+\//);
    const { Duplex } = await import('node:stream');
    const upstream = async () =>
      new Duplex({
        allowHalfOpen: true,
        read() {},
        write(chunk: Buffer, _enc, cb) {
          this.push(Buffer.concat([Buffer.from('echo:'), chunk]));
          cb();
        },
        final(cb) {
          this.push(null);
          cb();
        },
      });
    const relay = await listenAgentRelay({ dir, dirMode: 0o700, hostPath, containerPath: '/run/devenv-agent/x' }, upstream, () => undefined);
    expect(statSync(hostPath).mode & 0o777).toBe(0o600);
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect({ path: listenPathFor(hostPath).path });
      let text = '';
      sock.on('data', (d: Buffer) => (text += d.toString()));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
      sock.end('hi');
    });
    expect(answer).toBe('echo:hi');
    relay.close();
    expect(existsSync(hostPath)).toBe(false);
  });
});
