import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { useSuite } from '../support/suite.js';

describe.each(['root', 'rootless'] as const)('bad input (%s)', (mode) => {
  const s = useSuite(mode, 'bad');

  const storeEntries = (): string[] => {
    try {
      return readdirSync(join(s.root, 'containers')).filter((n) => !n.startsWith('.names'));
    } catch {
      return [];
    }
  };

  it.each([
    [['container', 'run', '--rm', '--rootfs', '/no/such/dir', 'true'], 1, 'rootfs `/no/such/dir` does not exist'],
    [['container', 'run', '--rm', '--memory', '12x', '--rootfs', 'ROOTFS', 'true'], 2, 'invalid --memory value `12x`'],
    [['container', 'run', '--rm', '--bogus', '--rootfs', 'ROOTFS', 'true'], 2, 'unknown flag --bogus'],
    [['container', 'run', '--rm', '-u', 'nosuchuser', '--rootfs', 'ROOTFS', 'true'], 1, 'unknown user `nosuchuser`'],
    [['container', 'run', '--rm', '--cap-add', 'SYS_BOGUS', '--rootfs', 'ROOTFS', 'true'], 2, 'SYS_BOGUS'],
    [['container', 'run', '--rm', '--pids-limit', 'lots', '--rootfs', 'ROOTFS', 'true'], 2, 'invalid --pids-limit value `lots`'],
    [['container', 'run', '--rm', '-v', '/no/such/src:/x', '--rootfs', 'ROOTFS', 'true'], 2, '/no/such/src'],
    [['container', 'run', '--rm', '-w', '/no/such/dir', '--rootfs', 'ROOTFS', 'true'], 125, '/no/such/dir'],
  ])('%j fails clearly and leaves nothing', (args, code, message) => {
    const before = storeEntries();
    const r = s.run(args.map((a) => (a === 'ROOTFS' ? s.rootfs : a)));
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
    expect(storeEntries()).toEqual(before);
    expect(s.leaks()).toEqual({ mounts: [], processes: [], cgroups: [], helpers: [], ports: [] });
  });

  it('rejects a second container with the same name', () => {
    expect(s.run(['container', 'create', '--name', 'twin', '--rootfs', s.rootfs, 'true']).code).toBe(0);
    const r = s.run(['container', 'create', '--name', 'twin', '--rootfs', s.rootfs, 'true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the name `twin` is already used');
    expect(s.run(['container', 'rm', 'twin']).code).toBe(0);
  });

  it('exec into a stopped container fails with 125', () => {
    s.run(['container', 'create', '--name', 'idle', '--rootfs', s.rootfs, 'true']);
    const r = s.run(['container', 'exec', 'idle', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('is not running');
    s.run(['container', 'rm', 'idle']);
  });
});
