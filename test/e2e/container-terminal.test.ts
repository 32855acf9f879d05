import { describe, expect, it } from 'vitest';

import { devenvInPty, type PtyResult } from '../support/pty.js';
import { useSuite, type Suite } from '../support/suite.js';

/** Run bin/devenv in a real pty with scripted input and resizes. */
function inPty(s: Suite, args: string[], steps: object[]): PtyResult {
  return devenvInPty(s, args, steps);
}

describe.each(['root', 'rootless'] as const)('terminals (%s)', (mode) => {
  const s = useSuite(mode, 'tty');

  it('run -it gives the container a real terminal of the right size', () => {
    const r = inPty(s, ['container', 'run', '--rm', '-it', '--rootfs', s.rootfs, 'sh'], [
      { send: 'stty size; tty; echo mark-$((6*7))\r' },
      { expect: 'mark-42' },
      { send: 'exit 5\r' },
    ]);
    expect(r.failed, r.output).toBeUndefined();
    expect(r.output).toMatch(/24 80/);
    expect(r.output).toMatch(/\/dev\/pts\/\d+/);
    expect(r.exit).toBe(5);
  });

  it('exec -it follows window resizes and passes the exit code', () => {
    const id = s.runIn(['-d', '--name', `tty-${mode}`], ['sleep', '300']).stdout.trim();
    const r = inPty(s, ['container', 'exec', '-it', `tty-${mode}`, 'sh'], [
      { send: 'stty size; echo first-$((1+1))\r' },
      { expect: 'first-2' },
      { resize: [40, 120] },
      { send: 'stty size; echo second-$((2+2))\r' },
      { expect: 'second-4' },
      { send: 'exit 3\r' },
    ]);
    expect(r.failed, r.output).toBeUndefined();
    expect(r.output).toMatch(/24 80/);
    expect(r.output).toMatch(/40 120/);
    expect(r.exit).toBe(3);
    expect(s.run(['container', 'rm', '-f', id]).code).toBe(0);
  });

  it('Ctrl-C in a terminal reaches the container, not devenv', () => {
    const r = inPty(s, ['container', 'run', '--rm', '-it', '--rootfs', s.rootfs, 'sh'], [
      { send: 'trap "echo got-int" INT; echo ready-$((3*3))\r' },
      { expect: 'ready-9' },
      { send: '\x03' },
      { expect: 'got-int' },
      { send: 'exit 0\r' },
    ]);
    expect(r.failed, r.output).toBeUndefined();
    expect(r.exit).toBe(0);
  });
});
