import { describe, expect, it } from 'vitest';

import { useSuite } from '../support/suite.js';

describe.each(['root', 'rootless'] as const)('resource limits (%s)', (mode) => {
  const s = useSuite(mode, 'lim');

  it('kills a process that exceeds --memory and reports it as out of memory', () => {
    const r = s.runIn(['--rm', '--memory', '64m'], ['/probe', 'alloc', '200'], { timeoutMs: 60_000 });
    expect(r.code).toBe(137);
    expect(r.stderr).toContain('out of memory: limit 64 MiB');
    // the host is fine: a normal container still runs
    expect(s.runIn(['--rm'], ['true']).code).toBe(0);
  });

  it('records the OOM kill of a detached container', () => {
    const id = s.runIn(['-d', '--memory', '64m'], ['/probe', 'alloc', '200']).stdout.trim();
    for (let i = 0; i < 100; i += 1) {
      const state = JSON.parse(s.run(['container', 'inspect', id]).stdout)[0];
      if (state.status === 'exited') {
        expect(state.exitCode).toBe(137);
        expect(state.oomKilled).toBe(true);
        break;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
    expect(s.run(['container', 'rm', id]).code).toBe(0);
  });

  it('contains a fork bomb with --pids-limit and can still remove the container', () => {
    const id = s.runIn(['-d', '--pids-limit', '50'], ['/probe', 'forkbomb', '1000']).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    let out = '';
    for (let i = 0; i < 100; i += 1) {
      out = s.run(['container', 'logs', id]).stdout;
      if (out.includes('forkbomb')) break;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
    const line = JSON.parse(out.split('\n').find((l) => l.includes('forkbomb')) ?? '{}') as { forked?: number; limited?: boolean };
    expect(line.limited).toBe(true);
    expect(line.forked).toBeLessThan(50);
    expect(s.run(['container', 'rm', '-f', id]).code).toBe(0);
  });

  it('keeps a shell fork bomb under --pids-limit and still removes the container', () => {
    const id = s.runIn(['-d', '--pids-limit', '50'], ['sh', '-c', 'while true; do sleep 300 & done']).stdout.trim();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
    const count = s.run(['container', 'exec', id, 'sh', '-c', 'ls /proc | grep -c "^[0-9]"']);
    // the exec itself may be refused a process when the limit is reached; either way nothing exceeds 50
    if (count.code === 0) expect(Number(count.stdout.trim())).toBeLessThanOrEqual(50);
    const rm = s.run(['container', 'rm', '-f', id]);
    expect(rm.code, rm.stderr).toBe(0);
  });

  it('applies --cpus', () => {
    const r = s.runIn(['--rm', '--cpus', '0.5'], ['true']);
    expect(r.code, r.stderr).toBe(0);
  });
});
