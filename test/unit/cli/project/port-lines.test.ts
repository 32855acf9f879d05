import { describe, expect, it } from 'vitest';

import { formatForwardedPorts, formatPortEvent, formatPortLine } from '../../../../src/cli/project/port-lines.js';
import { toProjectPort } from '../../../../src/services/project/project-ports.js';

const forward = { containerPort: 3000, hostIp: '127.0.0.1', hostIps: ['127.0.0.1', '::1'], hostPort: 3001, protocol: 'tcp' as const, source: 'config' as const, since: '2025-01-01T00:00:00Z' };

describe('project port lines', () => {
  it('a forward becomes a project port with a URL (TCP only)', () => {
    expect(toProjectPort({ ...forward, label: 'web' })).toEqual({ ...forward, url: 'http://127.0.0.1:3001', label: 'web' });
    expect(toProjectPort({ ...forward, protocol: 'udp' }).url).toBeUndefined();
    expect(toProjectPort({ ...forward, hostIp: '0.0.0.0', hostIps: ['0.0.0.0'] }).url).toBe('http://127.0.0.1:3001');
    expect(toProjectPort({ ...forward, hostIp: '::1', hostIps: ['::1'] }).url).toBe('http://[::1]:3001');
  });

  it('up lists each forward with its URL and label', () => {
    expect(formatPortLine(toProjectPort({ ...forward, label: 'web' }))).toBe('port 3000 → http://127.0.0.1:3001 (web)');
    expect(formatPortLine(toProjectPort({ ...forward, protocol: 'udp' }))).toBe('port 3000/udp → 127.0.0.1:3001 (udp)');
    expect(formatForwardedPorts([])).toBe('');
    expect(formatForwardedPorts([toProjectPort(forward), toProjectPort({ ...forward, containerPort: 4000, hostPort: 4000 })])).toBe(
      'port 3000 → http://127.0.0.1:3001\nport 4000 → http://127.0.0.1:4000\n',
    );
  });

  it('notices say what happened to which port', () => {
    const t = '2025-01-01T00:00:00Z';
    expect(formatPortEvent({ time: t, event: 'forwarded', containerPort: 8000, hostIp: '127.0.0.1', hostPort: 8000, protocol: 'tcp', source: 'auto' })).toBe(
      'port 8000 → http://127.0.0.1:8000, forwarded automatically',
    );
    expect(formatPortEvent({ time: t, event: 'forwarded', containerPort: 8000, hostIp: '127.0.0.1', hostPort: 8001, protocol: 'tcp', source: 'config', label: 'api', message: 'host port 8000 is in use' })).toBe(
      'port 8000 → http://127.0.0.1:8001 (api): host port 8000 is in use',
    );
    expect(formatPortEvent({ time: t, event: 'removed', containerPort: 8000, protocol: 'tcp', message: 'the server stopped listening' })).toBe(
      'port 8000 is no longer forwarded: the server stopped listening',
    );
    expect(formatPortEvent({ time: t, event: 'failed', containerPort: 80, protocol: 'udp', code: 'EACCES', message: 'host port 80 needs privileges to bind' })).toBe(
      'port 80/udp could not be forwarded: host port 80 needs privileges to bind',
    );
    expect(formatPortEvent({ time: t, event: 'failed', code: 'EMFILE', message: 'out of file descriptors' })).toBe('port forwarding: out of file descriptors');
  });
});
