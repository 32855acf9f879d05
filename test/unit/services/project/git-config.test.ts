import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { gitConfigCopyScript, isGitConfigCopyOff, readHostGitConfig } from '../../../../src/services/project/git-config.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'devenv-git-unit-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('readHostGitConfig', () => {
  it('reads ~/.gitconfig and $XDG_CONFIG_HOME/git/config, skipping missing ones', () => {
    const home = tempDir();
    expect(readHostGitConfig({ HOME: home })).toEqual([]);
    writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = A\n');
    expect(readHostGitConfig({ HOME: home })).toEqual([{ target: '.gitconfig', text: '[user]\n\tname = A\n' }]);
    const xdg = join(home, 'xdg');
    mkdirSync(join(xdg, 'git'), { recursive: true });
    writeFileSync(join(xdg, 'git', 'config'), '[core]\n');
    expect(readHostGitConfig({ HOME: home, XDG_CONFIG_HOME: xdg }).map((f) => f.target)).toEqual(['.gitconfig', '.config/git/config']);
  });

  it('is turned off by DEVENV_COPY_GITCONFIG=0', () => {
    const home = tempDir();
    writeFileSync(join(home, '.gitconfig'), 'x');
    expect(readHostGitConfig({ HOME: home, DEVENV_COPY_GITCONFIG: '0' })).toEqual([]);
    expect(isGitConfigCopyOff({ DEVENV_COPY_GITCONFIG: 'off' })).toBe(true);
    expect(isGitConfigCopyOff({})).toBe(false);
  });
});

describe('gitConfigCopyScript', () => {
  // The script looks the home up in /etc/passwd by uid and falls back to $HOME: with HOME set to a temp dir whose
  // uid has another home (or none) in passwd, run it under /bin/sh with HOME pointing at a dir of ours.
  const run = (target: '.gitconfig' | '.config/git/config', home: string, input: string) =>
    spawnSync('/bin/sh', ['-c', gitConfigCopyScript(target).replace('h=${h:-$HOME}', 'h=$HOME')], { input, env: { HOME: home, PATH: process.env.PATH ?? '' }, encoding: 'utf8' });

  it('writes a missing file and never replaces an existing one', () => {
    expect(gitConfigCopyScript('.gitconfig')).toContain('h=${h:-$HOME}'); // the run below swaps it for $HOME
    const home = tempDir();
    expect(run('.gitconfig', home, 'first\n').status).toBe(0);
    expect(readFileSync(join(home, '.gitconfig'), 'utf8')).toBe('first\n');
    expect(run('.gitconfig', home, 'second\n').status).toBe(0);
    expect(readFileSync(join(home, '.gitconfig'), 'utf8')).toBe('first\n');
    expect(run('.config/git/config', home, 'xdg\n').status).toBe(0);
    expect(readFileSync(join(home, '.config', 'git', 'config'), 'utf8')).toBe('xdg\n');
  });
});
