import { describe, expect, it } from 'vitest';

import { buildContainerSpec, type ContainerSpecInput } from '../../../../src/runtime/spec.js';
import type { NetworkMode } from '../../../../src/runtime/network/network-mode.js';

function input(network: NetworkMode, extra: Partial<ContainerSpecInput> = {}): ContainerSpecInput {
  return {
    id: 'c'.repeat(64),
    bundleDir: '/store/containers/c',
    hostname: 'box',
    rootfs: { driver: 'overlay', lowerdirs: ['/l'] },
    args: ['true'],
    env: [],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    terminal: false,
    stdin: false,
    mounts: [{ type: 'bind', source: '/h/hosts', target: '/etc/hosts', readonly: true }],
    network,
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
    tools: { newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap', fuseOverlayfs: '', slirp4netns: '/usr/bin/slirp4netns' },
    ...extra,
  };
}

describe('the network part of config.json', () => {
  it('private: a new network namespace and the helper the runtime starts for it', () => {
    const spec = buildContainerSpec(input('private', { networkFiles: ['hosts', 'hostname', 'resolv.conf'] }));
    expect(spec.linux.namespaces.map((n) => n.type)).toContain('network');
    expect(spec.devenv.network).toEqual({ mode: 'private', helper: '/usr/bin/slirp4netns', mtu: 65520, ipv6: true });
  });

  it('none: a new network namespace, no helper; host: the host\'s namespace', () => {
    expect(buildContainerSpec(input('none')).linux.namespaces.map((n) => n.type)).toContain('network');
    expect(buildContainerSpec(input('none')).devenv.network).toEqual({ mode: 'none' });
    expect(buildContainerSpec(input('host')).linux.namespaces.map((n) => n.type)).not.toContain('network');
    expect(buildContainerSpec(input('host')).devenv.network).toEqual({ mode: 'host' });
  });

  it('binds the bundle\'s network files over /etc, before the user\'s mounts so that -v still wins', () => {
    const spec = buildContainerSpec(input('private', { networkFiles: ['hosts', 'hostname', 'resolv.conf'] }));
    const dests = spec.mounts.map((m) => m.destination);
    expect(spec.mounts.find((m) => m.destination === '/etc/resolv.conf')).toEqual({
      destination: '/etc/resolv.conf',
      type: 'bind',
      source: '/store/containers/c/resolv.conf',
      options: ['bind', 'rw', 'nosuid', 'nodev', 'noexec'],
    });
    expect(dests.indexOf('/etc/hosts')).toBeLessThan(dests.lastIndexOf('/etc/hosts'));
    expect(spec.mounts.at(-1)?.source).toBe('/h/hosts');
  });

  it('a record from before private networking (no networkFiles) gets no such mounts', () => {
    expect(buildContainerSpec(input('host')).mounts.some((m) => m.source.startsWith('/store/'))).toBe(false);
  });
});
