import { describe, expect, it } from 'vitest';

import {
  buildRemoteFolderUri,
  encodePosixPath,
  environmentOfAuthority,
  remoteAuthorityFor,
  sshHostFor,
  sshHostOfAuthority,
} from '../../../vscode-extension/src/remote-uri.js';

describe('buildRemoteFolderUri', () => {
  it('builds vscode-remote://ssh-remote+<name>.devenv<folder>', () => {
    expect(buildRemoteFolderUri('app-07jp2hl3', '/workspaces/app')).toBe('vscode-remote://ssh-remote+app-07jp2hl3.devenv/workspaces/app');
  });

  it('percent-encodes path segments but keeps the slashes', () => {
    expect(buildRemoteFolderUri('x', '/workspaces/my app/#1?%')).toBe('vscode-remote://ssh-remote+x.devenv/workspaces/my%20app/%231%3F%25');
    expect(encodePosixPath('/a//b/')).toBe('/a/b');
    expect(encodePosixPath('/')).toBe('/');
    expect(encodePosixPath("/it's(1)")).toBe('/it%27s%281%29');
  });

  it('keeps non-ASCII folder names as UTF-8 escapes', () => {
    expect(buildRemoteFolderUri('x', '/workspaces/projé')).toBe('vscode-remote://ssh-remote+x.devenv/workspaces/proj%C3%A9');
  });

  it('refuses relative folders and empty names', () => {
    expect(() => buildRemoteFolderUri('x', 'workspaces/app')).toThrow(/absolute/);
    expect(() => buildRemoteFolderUri('', '/w')).toThrow(/name/);
  });

  it('writes hosts that are not plain as Remote-SSH does: hex of {"hostName"}', () => {
    const authority = remoteAuthorityFor('my app.devenv');
    expect(authority).toBe(`ssh-remote+${Buffer.from('{"hostName":"my app.devenv"}').toString('hex')}`);
    expect(sshHostOfAuthority(authority)).toBe('my app.devenv');
  });
});

describe('environmentOfAuthority', () => {
  it('finds the environment of a devenv Remote-SSH window', () => {
    expect(environmentOfAuthority('ssh-remote+app-07jp2hl3.devenv')).toBe('app-07jp2hl3');
    expect(environmentOfAuthority(remoteAuthorityFor(sshHostFor('a b')))).toBe('a b');
  });

  it('ignores other remotes and other hosts', () => {
    expect(environmentOfAuthority(undefined)).toBeUndefined();
    expect(environmentOfAuthority('wsl+Ubuntu')).toBeUndefined();
    expect(environmentOfAuthority('ssh-remote+example.com')).toBeUndefined();
    expect(environmentOfAuthority('ssh-remote+.devenv')).toBeUndefined();
    expect(environmentOfAuthority('ssh-remote+')).toBeUndefined();
  });

  it('round-trips with buildRemoteFolderUri', () => {
    const uri = new URL(buildRemoteFolderUri('web-1', '/workspaces/web'));
    expect(environmentOfAuthority(uri.host)).toBe('web-1');
    expect(uri.pathname).toBe('/workspaces/web');
  });

  it('reads a plain host made only of hex digits as itself', () => {
    expect(sshHostOfAuthority('ssh-remote+abcd')).toBe('abcd');
  });
});
