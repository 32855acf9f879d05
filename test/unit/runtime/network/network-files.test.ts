import { describe, expect, it } from 'vitest';

import { hostsFile, networkFiles, privateResolvConf } from '../../../../src/runtime/network/network-files.js';

const HOST_RESOLV = `# managed by resolvconf
nameserver 127.0.0.53
nameserver 10.1.1.1
domain old.example
search corp.example lab.example  # comment
options edns0 trust-ad
options ndots:2
`;
const HOST_HOSTS = '127.0.0.1 localhost\n192.168.1.5 laptop\n';

describe('resolv.conf', () => {
  it('private: the helper\'s forwarder, the host\'s last search line and its options, never its nameservers', () => {
    const text = privateResolvConf(HOST_RESOLV);
    expect(text.split('\n').filter((l) => !l.startsWith('#'))).toEqual([
      'nameserver 10.0.2.3',
      'search corp.example lab.example',
      'options edns0 trust-ad',
      'options ndots:2',
      '',
    ]);
    expect(text).not.toContain('127.0.0.53');
  });

  it('private with an empty or unreadable host file: only the forwarder', () => {
    expect(privateResolvConf('').split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(['nameserver 10.0.2.3']);
  });
});

describe('hosts', () => {
  it('private: localhost v4 and v6, the container\'s name on its address, the host aliases on the gateway', () => {
    const lines = hostsFile({ mode: 'private', hostname: 'box', hostHosts: HOST_HOSTS }).split('\n');
    expect(lines).toContain('127.0.0.1\tlocalhost');
    expect(lines).toContain('::1\tlocalhost ip6-localhost ip6-loopback');
    expect(lines).toContain('10.0.2.100\tbox');
    expect(lines).toContain('10.0.2.2\thost.containers.internal host.docker.internal');
    expect(lines.join('\n')).not.toContain('laptop');
  });

  it('a dotted hostname is listed with its short name too; extra hosts follow, host-gateway is the host', () => {
    const text = hostsFile({
      mode: 'private',
      hostname: 'web.dev.example',
      hostHosts: '',
      extraHosts: [
        { name: 'db', address: '10.0.2.9' },
        { name: 'me', address: 'host-gateway' },
      ],
    });
    expect(text).toContain('10.0.2.100\tweb.dev.example web\n');
    expect(text).toMatch(/10\.0\.2\.9\tdb\n10\.0\.2\.2\tme\n$/);
  });

  it('host: the host\'s own file, then the container\'s name and the aliases on loopback', () => {
    const text = hostsFile({ mode: 'host', hostname: 'box', hostHosts: HOST_HOSTS.trimEnd(), extraHosts: [{ name: 'h', address: 'host-gateway' }] });
    expect(text.startsWith(HOST_HOSTS)).toBe(true);
    expect(text).toContain('127.0.0.1\tbox host.containers.internal host.docker.internal\n');
    expect(text).toContain('127.0.0.1\th\n');
  });

  it('none: only localhost and the container\'s own name; host-gateway is refused', () => {
    const text = hostsFile({ mode: 'none', hostname: 'box', hostHosts: HOST_HOSTS });
    expect(text).toContain('127.0.1.1\tbox');
    expect(text).not.toContain('host.containers.internal');
    expect(() => hostsFile({ mode: 'none', hostname: 'box', hostHosts: '', extraHosts: [{ name: 'h', address: 'host-gateway' }] })).toThrow(/cannot reach the host/);
  });
});

describe('networkFiles', () => {
  const base = { hostname: 'box', hostResolvConf: HOST_RESOLV, hostHosts: HOST_HOSTS };
  it('private: hosts, hostname and a generated resolv.conf', () => {
    const files = networkFiles({ ...base, mode: 'private' });
    expect(Object.keys(files).sort()).toEqual(['hostname', 'hosts', 'resolv.conf']);
    expect(files.hostname).toBe('box\n');
    expect(files['resolv.conf']).toContain('nameserver 10.0.2.3');
  });
  it('host: a copy of the host\'s resolv.conf (none when it is unreadable)', () => {
    expect(networkFiles({ ...base, mode: 'host' })['resolv.conf']).toBe(HOST_RESOLV);
    expect(networkFiles({ ...base, hostResolvConf: '', mode: 'host' })['resolv.conf']).toBeUndefined();
  });
  it('none: hosts and hostname; the image keeps its resolv.conf', () => {
    expect(Object.keys(networkFiles({ ...base, mode: 'none' })).sort()).toEqual(['hostname', 'hosts']);
  });
});
