import { describe, expect, it } from 'vitest';

import { findEnvironmentByHost, isDevenvHost, sshHostAlias } from '../../../../src/services/ssh/ssh-naming.js';
import { buildVscodeRemoteUri, vscodeOpenArgs } from '../../../../src/services/ssh/vscode-uri.js';
import { sessionCommand } from '../../../../src/services/ssh/ssh-session.js';

describe('ssh host names', () => {
  it('derives a lowercase host name from the environment name', () => {
    expect(sshHostAlias('my-app-0ipuufp4')).toBe('my-app-0ipuufp4.devenv');
    expect(sshHostAlias('My App_1')).toBe('my-app_1.devenv');
    expect(sshHostAlias('..')).toBe('devenv.devenv');
  });

  it('finds the environment ssh asked for, case-insensitively', () => {
    const envs = [{ name: 'web-1' }, { name: 'API-2' }];
    expect(findEnvironmentByHost('api-2.devenv', envs)).toEqual({ name: 'API-2' });
    expect(findEnvironmentByHost('WEB-1.DEVENV', envs)).toEqual({ name: 'web-1' });
    expect(findEnvironmentByHost('nope.devenv', envs)).toBeUndefined();
    expect(isDevenvHost('x.devenv')).toBe(true);
    expect(isDevenvHost('.devenv')).toBe(false);
    expect(isDevenvHost('example.com')).toBe(false);
  });
});

describe('VS Code remote URI', () => {
  it('builds the Remote-SSH folder URI', () => {
    expect(buildVscodeRemoteUri('web-1.devenv', '/workspaces/web')).toBe('vscode-remote://ssh-remote+web-1.devenv/workspaces/web');
    expect(buildVscodeRemoteUri('a.devenv', '/workspaces/my project/')).toBe('vscode-remote://ssh-remote+a.devenv/workspaces/my%20project/');
    expect(vscodeOpenArgs('u')).toEqual(['--folder-uri', 'u']);
  });

  it('refuses a relative folder', () => {
    expect(() => buildVscodeRemoteUri('a.devenv', 'workspaces/x')).toThrow(/absolute/);
  });
});

describe('session commands', () => {
  it("runs exec commands with remoteUser's shell and shell sessions as a login shell", () => {
    const exec = sessionCommand('echo "$HOME" | wc -c');
    expect(exec.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(exec[2]).toContain('exec "$s" -c "$1"');
    expect(exec.slice(3)).toEqual(['sh', 'echo "$HOME" | wc -c']);
    expect(sessionCommand(undefined)[2]).toContain('exec "$s" -l');
  });
});
