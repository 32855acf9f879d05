import { mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { createPortsSpec, formatForward, parsePublishFlag, portsSpecFor } from '../../../../src/runtime/ports/port-spec.js';
import { readPortEvents, readPortsFile } from '../../../../src/runtime/ports/ports-state.js';
import { buildContainerSpec } from '../../../../src/runtime/spec.js';

describe('parsePublishFlag', () => {
  it('CONTAINER alone: same host port or the next free one, tcp by default', () => {
    expect(parsePublishFlag('8080')).toEqual([{ containerPort: 8080, protocol: 'tcp', source: 'cli' }]);
    expect(parsePublishFlag('53/udp')).toEqual([{ containerPort: 53, protocol: 'udp', source: 'cli' }]);
    expect(parsePublishFlag('80/TCP')).toEqual([{ containerPort: 80, protocol: 'tcp', source: 'cli' }]);
  });

  it('HOST:CONTAINER must get that host port (requireLocalPort), as with Docker', () => {
    expect(parsePublishFlag('3000:8080')).toEqual([{ containerPort: 8080, hostPort: 3000, requireLocalPort: true, protocol: 'tcp', source: 'cli' }]);
  });

  it('host port 0 and IP::CONTAINER take any free port', () => {
    expect(parsePublishFlag('0:8080')).toEqual([{ containerPort: 8080, hostPort: 0, protocol: 'tcp', source: 'cli' }]);
    expect(parsePublishFlag('127.0.0.1::8080')).toEqual([{ containerPort: 8080, hostIp: '127.0.0.1', hostPort: 0, protocol: 'tcp', source: 'cli' }]);
  });

  it('IP:HOST:CONTAINER, IPv6 in brackets', () => {
    expect(parsePublishFlag('0.0.0.0:80:8080/udp')).toEqual([
      { containerPort: 8080, hostIp: '0.0.0.0', hostPort: 80, requireLocalPort: true, protocol: 'udp', source: 'cli' },
    ]);
    expect(parsePublishFlag('[::1]:3000:3000')).toEqual([
      { containerPort: 3000, hostIp: '::1', hostPort: 3000, requireLocalPort: true, protocol: 'tcp', source: 'cli' },
    ]);
  });

  it('ranges of equal size, or one container range', () => {
    expect(parsePublishFlag('9000-9002:8000-8002').map((s) => [s.hostPort, s.containerPort])).toEqual([
      [9000, 8000],
      [9001, 8001],
      [9002, 8002],
    ]);
    expect(parsePublishFlag('8000-8001').map((s) => [s.hostPort, s.containerPort])).toEqual([
      [undefined, 8000],
      [undefined, 8001],
    ]);
  });

  it('refuses what is not a port forward, naming the value', () => {
    expect(() => parsePublishFlag('')).toThrow(/invalid -p value/);
    expect(() => parsePublishFlag('0')).toThrow(/container port `0` is not a port number/);
    expect(() => parsePublishFlag('70000')).toThrow(/is not a port number/);
    expect(() => parsePublishFlag('80/sctp')).toThrow(/protocol `sctp` is not supported/);
    expect(() => parsePublishFlag('abc:80')).toThrow(/host port `abc`/);
    expect(() => parsePublishFlag('300.1.1.1:80:80')).toThrow(/`300.1.1.1` is not an IP address/);
    expect(() => parsePublishFlag('::1:80:80')).toThrow(/IPv6 addresses in brackets|expected/);
    expect(() => parsePublishFlag('9000-9002:8000-8001')).toThrow(/ranges differ in size/);
    expect(() => parsePublishFlag('8002-8000')).toThrow(/reversed/);
    expect(() => parsePublishFlag('1-5000')).toThrow(/too large/);
  });
});

describe('portsSpecFor', () => {
  it('nothing to forward and no automatic forwarding: no spec', () => {
    expect(portsSpecFor({})).toEqual({ spec: undefined, warnings: [] });
  });

  it('combines -p, appPort and forwardPorts; attributes give labels and requireLocalPort', () => {
    const r = portsSpecFor({
      publish: ['5000'],
      appPort: [3000, '127.0.0.1:4000:4001'],
      forwardPorts: [8080, 'localhost:9229', 'db:5432', 5000],
      portsAttributes: { '8080': { label: 'web', requireLocalPort: true }, '9000-9999': { label: 'debug', onAutoForward: 'ignore' }, 'node .*': { label: 'x' } },
      otherPortsAttributes: { onAutoForward: 'ignore' },
      autoForward: true,
    });
    expect(r.spec?.forwards).toEqual([
      { containerPort: 5000, protocol: 'tcp', source: 'cli' },
      { containerPort: 3000, hostPort: 3000, requireLocalPort: true, protocol: 'tcp', source: 'config' },
      { containerPort: 4001, hostIp: '127.0.0.1', hostPort: 4000, requireLocalPort: true, protocol: 'tcp', source: 'config' },
      { containerPort: 8080, protocol: 'tcp', source: 'config', label: 'web', requireLocalPort: true },
      { containerPort: 9229, protocol: 'tcp', source: 'config', label: 'debug' },
    ]);
    expect(r.spec?.autoForward).toEqual({
      enabled: true,
      ignore: [],
      attributes: [
        { from: 8080, to: 8080, label: 'web', requireLocalPort: true },
        { from: 9000, to: 9999, label: 'debug', ignore: true },
      ],
      ignoreOthers: true,
    });
    expect(r.warnings).toEqual([
      'portsAttributes `node .*`: only port numbers and ranges are matched; this entry is ignored',
      'forwardPorts `db:5432`: only ports of the dev container itself can be forwarded; ignored',
    ]);
  });

  it('single ignored ports also land in the ignore list', () => {
    expect(portsSpecFor({ autoForward: true, portsAttributes: { '5432': { onAutoForward: 'ignore' } } }).spec?.autoForward.ignore).toEqual([5432]);
  });

  it('with the host network there is nothing to forward', () => {
    const r = portsSpecFor({ publish: ['8080'], network: 'host', autoForward: true });
    expect(r.spec).toBeUndefined();
    expect(r.warnings[0]).toMatch(/host network/);
  });

  it('bad config ports are errors', () => {
    expect(() => portsSpecFor({ forwardPorts: [0] })).toThrow(/forwardPorts: `0` is not a port number/);
    expect(() => portsSpecFor({ appPort: 70000 })).toThrow(/appPort/);
  });
});

describe('createPortsSpec', () => {
  it('-p first, then the caller spec; --auto-forward turns automatic forwarding on', () => {
    const r = createPortsSpec({
      publish: ['1:2'],
      autoForward: true,
      ports: { forwards: [{ containerPort: 3, protocol: 'tcp', source: 'config' }], autoForward: { enabled: false, ignore: [22] } },
    });
    expect(r.spec).toEqual({
      forwards: [
        { containerPort: 2, hostPort: 1, requireLocalPort: true, protocol: 'tcp', source: 'cli' },
        { containerPort: 3, protocol: 'tcp', source: 'config' },
      ],
      autoForward: { enabled: true, ignore: [22] },
    });
    expect(createPortsSpec({ publish: [] }).spec).toBeUndefined();
    expect(() => createPortsSpec({ publish: ['x'] })).toThrow(/invalid -p value/);
  });

  it('with the host network the caller spec is dropped with one warning; an automatic-only spec silently', () => {
    const ports = { forwards: [{ containerPort: 3, protocol: 'tcp' as const, source: 'config' as const }], autoForward: { enabled: true, ignore: [] } };
    const r = createPortsSpec({ publish: [], ports, network: 'host' });
    expect(r).toEqual({ spec: undefined, warnings: ['the container uses the host network: its ports are reachable as they are; the port forwards are ignored'] });
    expect(createPortsSpec({ publish: ['8080'], ports, network: 'host' }).warnings).toHaveLength(1);
    expect(createPortsSpec({ publish: [], ports: { ...ports, forwards: [] }, network: 'host' })).toEqual({ spec: undefined, warnings: [] });
  });

  it('lands in config.json as devenv.ports', () => {
    const ports = createPortsSpec({ publish: ['8080'] }).spec;
    const spec = buildContainerSpec({
      id: 'x',
      bundleDir: '/b',
      hostname: 'h',
      rootfs: { driver: 'overlay', lowerdirs: ['/l'] },
      args: ['sh'],
      env: [],
      cwd: '/',
      user: { uid: 0, gid: 0, additionalGids: [] },
      terminal: false,
      stdin: false,
      mounts: [],
      network: 'none',
      readOnly: false,
      privileged: false,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      seccomp: null,
      maskedPaths: [],
      readonlyPaths: [],
      idMappings: null,
      rootless: false,
      cgroups: { version: 0, paths: [] },
      resources: {},
      rlimits: [],
      autoRemove: false,
      tools: { newuidmap: '', newgidmap: '', fuseOverlayfs: '' },
      ...(ports ? { ports } : {}),
    });
    expect(spec.devenv.ports).toEqual({ forwards: [{ containerPort: 8080, protocol: 'tcp', source: 'cli' }], autoForward: { enabled: false, ignore: [] } });
  });
});

describe('ports.json and ports.log readers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devenv-ports-'));

  it('reads the state file, ignoring a missing or broken one', () => {
    expect(readPortsFile(dir)).toBeUndefined();
    writeFileSync(join(dir, 'ports.json'), '{"monitorPid":1,"forwards":[],"autoForward":{"enabled":true},"control":"ports.sock"}\n');
    expect(readPortsFile(dir)).toEqual({ monitorPid: 1, forwards: [], autoForward: { enabled: true }, control: 'ports.sock' });
    writeFileSync(join(dir, 'ports.json'), '{broken');
    expect(readPortsFile(dir)).toBeUndefined();
  });

  it('reads events from an offset, whole lines only, and starts over after a rotation', () => {
    expect(readPortEvents(dir)).toEqual({ events: [], offset: 0 });
    const a = '{"time":"t1","event":"forwarded","containerPort":80}\n';
    writeFileSync(join(dir, 'ports.log'), `${a}{"time":"t2","event":"rem`);
    const first = readPortEvents(dir);
    expect(first).toEqual({ events: [{ time: 't1', event: 'forwarded', containerPort: 80 }], offset: a.length });
    appendFileSync(join(dir, 'ports.log'), 'oved","containerPort":80}\nnot json\n');
    const second = readPortEvents(dir, first.offset);
    expect(second.events).toEqual([{ time: 't2', event: 'removed', containerPort: 80 }]);
    writeFileSync(join(dir, 'ports.log'), a);
    expect(readPortEvents(dir, second.offset).events).toHaveLength(1);
  });

  it('formats a forward as docker port does', () => {
    expect(formatForward({ containerPort: 80, protocol: 'tcp', hostIp: '::1', hostPort: 8080 })).toBe('80/tcp -> [::1]:8080');
    expect(formatForward({ containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1', hostPort: 5353 })).toBe('53/udp -> 127.0.0.1:5353');
  });
});
