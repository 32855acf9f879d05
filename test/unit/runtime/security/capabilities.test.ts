import { describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import {
  DEFAULT_CAPABILITIES,
  LINUX_CAPABILITIES,
  normalizeCapability,
  resolveCapabilities,
} from '../../../../src/runtime/security/capabilities.js';
import { thrownDevenvError as catchError } from '../../../support/devenv-error.js';

// containers/common pkg/config/default.go DefaultCapabilities (Podman >= 4), written out independently here.
const PODMAN_DEFAULTS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];

describe('LINUX_CAPABILITIES', () => {
  it('lists all 41 capabilities in kernel number order', () => {
    expect(LINUX_CAPABILITIES).toHaveLength(41);
    expect(new Set(LINUX_CAPABILITIES).size).toBe(41);
    expect(LINUX_CAPABILITIES[0]).toBe('CAP_CHOWN');
    expect(LINUX_CAPABILITIES.indexOf('CAP_SYS_ADMIN')).toBe(21);
    expect(LINUX_CAPABILITIES.indexOf('CAP_SETFCAP')).toBe(31);
    expect(LINUX_CAPABILITIES.indexOf('CAP_PERFMON')).toBe(38);
    expect(LINUX_CAPABILITIES.indexOf('CAP_BPF')).toBe(39);
    expect(LINUX_CAPABILITIES[40]).toBe('CAP_CHECKPOINT_RESTORE');
  });
});

describe('DEFAULT_CAPABILITIES', () => {
  it("is Podman's default set", () => {
    expect([...DEFAULT_CAPABILITIES].sort()).toEqual([...PODMAN_DEFAULTS].sort());
  });

  it("leaves out the three Docker grants that Podman dropped", () => {
    for (const cap of ['CAP_AUDIT_WRITE', 'CAP_MKNOD', 'CAP_NET_RAW'] as const) {
      expect(DEFAULT_CAPABILITIES).not.toContain(cap);
    }
  });
});

describe('normalizeCapability', () => {
  it.each([
    ['sys_admin', 'CAP_SYS_ADMIN'],
    ['SYS_ADMIN', 'CAP_SYS_ADMIN'],
    ['CAP_SYS_ADMIN', 'CAP_SYS_ADMIN'],
    ['cap_net_raw', 'CAP_NET_RAW'],
    [' Chown ', 'CAP_CHOWN'],
    ['ALL', 'ALL'],
    ['all', 'ALL'],
  ])('%j → %s', (input, expected) => {
    expect(normalizeCapability(input)).toBe(expected);
  });

  it('rejects an unknown capability with a usage error naming it', () => {
    const error = catchError(() => normalizeCapability('SYS_ADMN'));
    expect(error.code).toBe('USAGE');
    expect(error.kind).toBe('user');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('unknown capability `SYS_ADMN`');
    expect(error.hint).toMatch(/^Did you mean SYS_ADMIN\?/);
  });

  it('does not invent a suggestion for a name far from any capability', () => {
    const error = catchError(() => normalizeCapability('frobnicate'));
    expect(error.message).toContain('`frobnicate`');
    expect(error.hint).not.toMatch(/Did you mean/);
  });

  it.each(['CAP_ALL', '', 'CAP_', 'SYS-ADMIN'])('rejects %j', (input) => {
    expect(catchError(() => normalizeCapability(input)).code).toBe('USAGE');
  });
});

describe('resolveCapabilities', () => {
  const all = [...LINUX_CAPABILITIES];

  it('gives the default set in every set but inheritable and ambient', () => {
    const caps = resolveCapabilities();
    expect([...caps.bounding].sort()).toEqual([...PODMAN_DEFAULTS].sort());
    expect(caps.effective).toEqual(caps.bounding);
    expect(caps.permitted).toEqual(caps.bounding);
    expect(caps.inheritable).toEqual([]);
    expect(caps.ambient).toEqual([]);
  });

  it('orders sets by capability number and returns independent arrays', () => {
    const caps = resolveCapabilities({ add: ['SYS_PTRACE', 'chown'] });
    const numbers = caps.bounding.map((name) => LINUX_CAPABILITIES.indexOf(name));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    caps.effective.pop();
    expect(caps.bounding).toContain('CAP_SYS_PTRACE');
  });

  it('adds and drops single capabilities in any spelling', () => {
    const caps = resolveCapabilities({ add: ['sys_ptrace', 'CAP_NET_ADMIN'], drop: ['chown', 'CAP_SETFCAP'] });
    expect(caps.bounding).toContain('CAP_SYS_PTRACE');
    expect(caps.bounding).toContain('CAP_NET_ADMIN');
    expect(caps.bounding).not.toContain('CAP_CHOWN');
    expect(caps.bounding).not.toContain('CAP_SETFCAP');
    expect(caps.bounding).toHaveLength(PODMAN_DEFAULTS.length);
  });

  it('does not duplicate a capability already in the defaults', () => {
    expect(resolveCapabilities({ add: ['KILL', 'kill'] }).bounding).toHaveLength(PODMAN_DEFAULTS.length);
  });

  it('add ALL gives every capability except the dropped ones', () => {
    expect(resolveCapabilities({ add: ['ALL'] }).bounding).toEqual(all);
    const caps = resolveCapabilities({ add: ['all'], drop: ['SYS_ADMIN', 'cap_sys_module'] });
    expect(caps.bounding).toHaveLength(39);
    expect(caps.bounding).not.toContain('CAP_SYS_ADMIN');
    expect(caps.bounding).not.toContain('CAP_SYS_MODULE');
  });

  it('drop ALL keeps exactly the added capabilities', () => {
    expect(resolveCapabilities({ drop: ['ALL'] }).bounding).toEqual([]);
    expect(resolveCapabilities({ drop: ['ALL'], add: ['NET_BIND_SERVICE', 'chown'] }).bounding).toEqual([
      'CAP_CHOWN',
      'CAP_NET_BIND_SERVICE',
    ]);
  });

  it('lets add ALL win over drop ALL, as Docker does', () => {
    expect(resolveCapabilities({ add: ['ALL'], drop: ['ALL'] }).bounding).toEqual(all);
  });

  it('keeps a capability that is both added and dropped, as Docker does', () => {
    expect(resolveCapabilities({ add: ['CHOWN'], drop: ['CHOWN'] }).bounding).toContain('CAP_CHOWN');
  });

  it('gives every capability to a privileged container, ignoring drop', () => {
    const caps = resolveCapabilities({ privileged: true, drop: ['SYS_ADMIN'] });
    expect(caps.bounding).toEqual(all);
    expect(caps.effective).toEqual(all);
    expect(caps.inheritable).toEqual([]);
  });

  it('still rejects unknown names when privileged', () => {
    const error = catchError(() => resolveCapabilities({ privileged: true, add: ['SYS_ADMIM'] }));
    expect(error.code).toBe('USAGE');
    expect(error.message).toContain('SYS_ADMIM');
  });
});
