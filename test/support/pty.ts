import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { DEVENV_BIN, REPO_ROOT, testUser, type Mode } from './devenv-cli.js';

export interface PtyResult {
  output: string;
  exit: number | null;
  failed?: string;
}

/** Run bin/devenv in a real pty (test/support/pty-session.py) with scripted input and resizes, as the mode's user. */
export function devenvInPty(s: { mode: Mode; root: string }, args: string[], steps: object[], timeoutMs = 60_000): PtyResult {
  const devenv = [process.execPath, DEVENV_BIN, ...args];
  const cmd = s.mode === 'root' ? ['env', `DEVENV_ROOT=${s.root}`, ...devenv] : ['runuser', '-u', testUser(), '--', 'env', `DEVENV_ROOT=${s.root}`, ...devenv];
  const r = spawnSync('python3', [join(REPO_ROOT, 'test', 'support', 'pty-session.py'), '24', '80', '--', ...cmd], {
    input: steps.map((x) => JSON.stringify(x)).join('\n'),
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
  });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as PtyResult;
}
