import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  USER_ENV_PROBE_MARKER,
  mergeProbedPath,
  parseProbedEnv,
  userEnvProbeCommand,
} from '../../../../src/devcontainer/lifecycle/user-env-probe.js';
import { DevenvError } from '../../../../src/errors.js';

const M = USER_ENV_PROBE_MARKER;

describe('userEnvProbeCommand', () => {
  it('picks the shell flags for each mode, and nothing for none', () => {
    expect(userEnvProbeCommand('none')).toBeUndefined();
    expect(userEnvProbeCommand('loginInteractiveShell', '/bin/bash')?.slice(0, 2)).toEqual(['/bin/bash', '-lic']);
    expect(userEnvProbeCommand('loginShell', '/bin/zsh')?.slice(0, 2)).toEqual(['/bin/zsh', '-lc']);
    expect(userEnvProbeCommand('interactiveShell', '/usr/bin/fish')?.slice(0, 2)).toEqual(['/usr/bin/fish', '-ic']);
    expect(userEnvProbeCommand('loginInteractiveShell')?.[0]).toBe('/bin/sh');
  });

  it('gives PowerShell its own flags', () => {
    expect(userEnvProbeCommand('loginShell', '/opt/microsoft/powershell/7/pwsh')?.slice(1, 3)).toEqual(['-Login', '-Command']);
    expect(userEnvProbeCommand('interactiveShell', '/usr/bin/pwsh')?.slice(1, 2)).toEqual(['-Command']);
  });

  it('never spells the whole marker in the command line, so a trace of it cannot be mistaken for output', () => {
    const argv = userEnvProbeCommand('loginInteractiveShell', '/bin/bash') ?? [];
    expect(argv.join(' ')).not.toContain(M);
  });
});

describe('parseProbedEnv', () => {
  it('reads NUL-separated variables between the markers, ignoring noise around them', () => {
    const output = `Welcome!\nnvm: using node 20\n${M}PATH=/usr/bin:/bin\0HOME=/home/dev\0MULTI=a\nb\0EQ=x=y\0EMPTY=\0${M}bye\n`;
    expect(parseProbedEnv(output)).toEqual({ PATH: '/usr/bin:/bin', HOME: '/home/dev', MULTI: 'a\nb', EQ: 'x=y', EMPTY: '' });
  });

  it('drops variables that belong to the probe shell', () => {
    const output = `${M}PWD=/w\0OLDPWD=/\0SHLVL=2\0_=/usr/bin/cat\0KEEP=1\0${M}`;
    expect(parseProbedEnv(output)).toEqual({ KEEP: '1' });
  });

  it('reads the newline-separated fallback, joining continuation lines', () => {
    const output = `${M}A=1\nMULTI=first\nsecond line\nB=2\n${M}`;
    expect(parseProbedEnv(output)).toEqual({ A: '1', MULTI: 'first\nsecond line', B: '2' });
  });

  it('uses the first and last marker, so the marker inside noise before does not matter', () => {
    expect(parseProbedEnv(`${M}A=1\0${M}\n`)).toEqual({ A: '1' });
  });

  it('throws LIFECYCLE_ENV_PROBE when the markers are missing', () => {
    for (const output of ['', 'bash: no job control\n', `${M}A=1`]) {
      let error: unknown;
      try {
        parseProbedEnv(output);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DevenvError);
      expect((error as DevenvError).code).toBe('LIFECYCLE_ENV_PROBE');
    }
  });
});

describe('the probe run by real shells', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function probe(shell: string, mode: 'loginShell' | 'loginInteractiveShell', files: Record<string, string>): Record<string, string> {
    const home = mkdtempSync(join(tmpdir(), 'devenv-probe-'));
    dirs.push(home);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(home, name), text);
    const argv = userEnvProbeCommand(mode, shell) as string[];
    const result = spawnSync(argv[0] as string, argv.slice(1), {
      env: { HOME: home, PATH: '/usr/bin:/bin', MULTI: 'one\ntwo' },
      cwd: home,
      encoding: 'utf8',
      timeout: 10_000,
    });
    // A terminal-less interactive shell complains on stderr; like a pty runner would, read both.
    return parseProbedEnv(`${result.stdout}${result.stderr}`);
  }

  it('/bin/sh as a login shell: ~/.profile exports reach the result, its chatter does not', () => {
    const env = probe('/bin/sh', 'loginShell', { '.profile': 'echo hello from profile\nexport FROM_PROFILE=yes\n' });
    expect(env.FROM_PROFILE).toBe('yes');
    expect(env.MULTI).toBe('one\ntwo');
    expect(env.PWD).toBeUndefined();
    expect(Object.values(env).join('')).not.toContain('hello from profile');
  });

  it.skipIf(!existsSync('/bin/bash'))('bash -lic with xtrace on in its startup files', () => {
    const env = probe('/bin/bash', 'loginInteractiveShell', {
      '.bash_profile': 'set -x\necho noisy\nexport FROM_BASH=1\n. ~/.bashrc\n',
      '.bashrc': 'export FROM_RC=2\n',
    });
    expect(env).toMatchObject({ FROM_BASH: '1', FROM_RC: '2' });
  });
});

describe('mergeProbedPath', () => {
  it('puts back container PATH entries the shell lost, next to their neighbours', () => {
    expect(mergeProbedPath('/home/u/.nvm/bin:/usr/bin:/bin', '/usr/local/bin:/usr/bin:/opt/tool/bin:/bin', false)).toBe(
      '/usr/local/bin:/home/u/.nvm/bin:/usr/bin:/opt/tool/bin:/bin',
    );
  });

  it('does not give sbin directories back to other users than root', () => {
    expect(mergeProbedPath('/usr/bin', '/usr/local/sbin:/usr/sbin:/usr/bin:/sbin', false)).toBe('/usr/bin');
    expect(mergeProbedPath('/usr/bin', '/usr/local/sbin:/usr/bin:/sbin', true)).toBe('/usr/local/sbin:/usr/bin:/sbin');
  });
});
