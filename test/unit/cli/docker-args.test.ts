import { describe, expect, it } from 'vitest';

import { EXEC_ARG_SPECS, RUN_ARG_SPECS } from '../../../src/cli/container-flags.js';
import { parseDockerArgs } from '../../../src/cli/docker-args.js';
import { DevenvError } from '../../../src/errors.js';

const run = (argv: string[]) => parseDockerArgs(argv, RUN_ARG_SPECS, { command: 'container run' });

describe('parseDockerArgs', () => {
  it('stops at the first positional so the command keeps its own flags', () => {
    const r = run(['--rm', '--rootfs', '/r', 'sh', '-c', 'exit 7', '--memory', 'x']);
    expect(r.flags.rm).toBe(true);
    expect(r.flags.rootfs).toBe('/r');
    expect(r.flags.memory).toBeUndefined();
    expect(r.positionals).toEqual(['sh', '-c', 'exit 7', '--memory', 'x']);
  });

  it('reads bundled short flags and attached values', () => {
    const r = run(['-dit', '-eA=1', '-e', 'B=2', '--env=C=3', '-m64m', '--rootfs=/r', 'true']);
    expect(r.flags).toMatchObject({ detach: true, interactive: true, tty: true, memory: '64m', rootfs: '/r' });
    expect(r.flags.env).toEqual(['A=1', 'B=2', 'C=3']);
  });

  it('accepts aliases and boolean values', () => {
    const r = run(['--net', 'none', '--read-only=true', '--rootfs', '/r', 'true']);
    expect(r.flags.network).toBe('none');
    expect(r.flags['read-only']).toBe(true);
  });

  it('rejects an unknown flag by name, with a usage exit code', () => {
    try {
      run(['--bogus', 'x']);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DevenvError);
      expect((error as DevenvError).message).toContain('unknown flag --bogus');
      expect((error as DevenvError).exitCode).toBe(2);
    }
  });

  it('rejects a value outside the allowed options and a missing value', () => {
    expect(() => run(['--network', 'macvlan', 'x'])).toThrow(/invalid value `macvlan` for --network/);
    expect(() => run(['--memory'])).toThrow(/--memory needs a value/);
  });

  it('takes the network modes and the names Docker and Podman users type for them', () => {
    for (const mode of ['private', 'host', 'none', 'bridge', 'slirp4netns', 'pasta', 'default']) {
      expect(run([`--network=${mode}`, '--rootfs', '/r', 'true']).flags.network).toBe(mode);
    }
    expect(run(['--add-host', 'db:10.0.2.9', '--add-host=h:host-gateway', '--rootfs', '/r', 'true']).flags['add-host']).toEqual(['db:10.0.2.9', 'h:host-gateway']);
  });

  it('treats -- as the end of flags', () => {
    const r = parseDockerArgs(['-i', '--', 'web', '-t'], EXEC_ARG_SPECS, { command: 'container exec' });
    expect(r.flags.interactive).toBe(true);
    expect(r.flags.tty).toBeUndefined();
    expect(r.positionals).toEqual(['web', '-t']);
  });

  it('keeps exec flags before the container name only', () => {
    const r = parseDockerArgs(['-u', '1000', 'web', 'id', '-u'], EXEC_ARG_SPECS, { command: 'container exec' });
    expect(r.flags.user).toBe('1000');
    expect(r.positionals).toEqual(['web', 'id', '-u']);
  });
});
