import { describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { parseAddHost, parseNetworkMode } from '../../../../src/runtime/network/network-mode.js';

describe('parseNetworkMode', () => {
  it('reads private, host and none, and the names Docker and Podman users type for private', () => {
    expect(parseNetworkMode('private')).toBe('private');
    expect(parseNetworkMode('host')).toBe('host');
    expect(parseNetworkMode('none')).toBe('none');
    for (const alias of ['bridge', 'slirp4netns', 'pasta', 'default', 'Bridge']) expect(parseNetworkMode(alias)).toBe('private');
  });

  it('refuses anything else as a usage error with the accepted values', () => {
    for (const bad of ['macvlan', 'slirp4netns:mtu=1500', 'container:web', '']) {
      try {
        parseNetworkMode(bad);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(DevenvError);
        expect((error as DevenvError).code).toBe('USAGE');
        expect((error as DevenvError).message).toContain(`\`${bad}\``);
        expect((error as DevenvError).hint).toMatch(/private|host|none/);
      }
    }
  });
});

describe('parseAddHost', () => {
  it('reads NAME:IP, NAME=IP, IPv6 with or without brackets, and host-gateway', () => {
    expect(parseAddHost('db:10.0.2.9')).toEqual({ name: 'db', address: '10.0.2.9' });
    expect(parseAddHost('db=192.168.1.2')).toEqual({ name: 'db', address: '192.168.1.2' });
    expect(parseAddHost('v6:[fd00::9]')).toEqual({ name: 'v6', address: 'fd00::9' });
    expect(parseAddHost('v6:::1')).toEqual({ name: 'v6', address: '::1' });
    expect(parseAddHost('my.host:host-gateway')).toEqual({ name: 'my.host', address: 'host-gateway' });
  });

  it('refuses a missing name or a malformed address', () => {
    for (const bad of ['db', ':10.0.0.1', 'db:', 'db:300.1.1.1', 'db:example.com', 'bad name:1.2.3.4']) {
      expect(() => parseAddHost(bad)).toThrow(/invalid --add-host value/);
    }
  });
});
