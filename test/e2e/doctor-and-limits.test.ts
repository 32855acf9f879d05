import { describe, expect, it } from 'vitest';

import { useSuite } from '../support/suite.js';

describe.each(['root', 'rootless'] as const)('doctor and rlimits (%s)', (mode) => {
  const s = useSuite(mode, 'doc');

  it('doctor --json reports every check with a status, and passes on the prepared CI machine', () => {
    const r = s.run(['doctor', '--json']);
    const report = JSON.parse(r.stdout) as { outcome: string; checks: { id: string; status: string; fix?: string }[] };
    const ids = report.checks.map((c) => c.id);
    expect(ids).toEqual(['kernel', 'userns', 'overlay', 'cgroups', 'idmap-tools', 'subids', 'network', 'fuse-overlayfs', 'native-runtime']);
    for (const c of report.checks) if (c.status === 'fail') expect(c.fix, c.id).toBeTruthy();
    expect(report.outcome).not.toBe('fail');
    expect(r.code).toBe(0);
  });

  it('clamps a resource limit it cannot raise, with a warning, instead of failing', () => {
    const r = s.runIn(['--rm', '--ulimit', 'nofile=1048576:1048576'], ['sh', '-c', 'ulimit -n']);
    expect(r.code, r.stderr).toBe(0);
    const got = Number(r.stdout.trim());
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThanOrEqual(1048576);
    if (got < 1048576) expect(r.stderr).toMatch(/RLIMIT_NOFILE|nofile/i);
  });

  it('applies a lower limit exactly', () => {
    const r = s.runIn(['--rm', '--ulimit', 'nofile=256:512'], ['sh', '-c', 'ulimit -n; ulimit -Hn']);
    expect(r.stdout.trim().split('\n')).toEqual(['256', '512']);
  });
});
