import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  defaultWorkspaceLocation,
  findGitRoot,
  parseMountString,
  workspaceMountFor,
} from '../../../../src/devcontainer/config/workspace.js';
import { makeTempDir, thrown } from './temp-dirs.js';

function makeRepo(): { repo: string; nested: string } {
  const repo = join(makeTempDir(), 'my-repo');
  const nested = join(repo, 'services', 'api');
  mkdirSync(join(repo, '.git'), { recursive: true });
  mkdirSync(nested, { recursive: true });
  return { repo, nested };
}

describe('findGitRoot', () => {
  it('finds the nearest folder with a .git directory', () => {
    const { repo, nested } = makeRepo();
    expect(findGitRoot(nested)).toBe(repo);
    expect(findGitRoot(repo)).toBe(repo);
  });

  it('takes a .git file (worktree, submodule) as a root', () => {
    const { repo, nested } = makeRepo();
    writeFileSync(join(nested, '.git'), 'gitdir: ../../.git/modules/api\n');
    expect(findGitRoot(nested)).toBe(nested);
    expect(findGitRoot(join(repo, 'services'))).toBe(repo);
  });

  it('is undefined outside a repository', () => {
    const dir = join(makeTempDir(), 'plain');
    mkdirSync(dir);
    expect(findGitRoot(dir)).toBeUndefined();
    expect(findGitRoot(join(dir, 'missing'))).toBeUndefined();
  });
});

describe('defaultWorkspaceLocation', () => {
  it('mounts the git root and points below it (the CLI default --mount-workspace-git-root)', () => {
    const { repo, nested } = makeRepo();
    const location = defaultWorkspaceLocation(nested);
    expect(location).toEqual({
      hostMountFolder: repo,
      containerMountFolder: '/workspaces/my-repo',
      containerWorkspaceFolder: '/workspaces/my-repo/services/api',
    });
    expect(workspaceMountFor(location)).toEqual({ type: 'bind', source: repo, target: '/workspaces/my-repo' });
    expect(defaultWorkspaceLocation(repo).containerWorkspaceFolder).toBe('/workspaces/my-repo');
  });

  it('mounts the folder itself outside a repository or when asked to', () => {
    const { nested } = makeRepo();
    expect(defaultWorkspaceLocation(nested, false)).toEqual({
      hostMountFolder: nested,
      containerMountFolder: '/workspaces/api',
      containerWorkspaceFolder: '/workspaces/api',
    });
    const plain = join(makeTempDir(), 'plain');
    mkdirSync(plain);
    expect(defaultWorkspaceLocation(plain).containerWorkspaceFolder).toBe('/workspaces/plain');
  });
});

describe('parseMountString', () => {
  it.each([
    ['type=bind,source=/a,target=/b', { type: 'bind', source: '/a', target: '/b' }],
    ['type=bind,src=/a,dst=/b,consistency=cached', { type: 'bind', source: '/a', target: '/b' }],
    ['type=bind,source=/a,destination=/b,readonly', { type: 'bind', source: '/a', target: '/b', readonly: true }],
    ['type=bind,source=/a,target=/b,ro=true', { type: 'bind', source: '/a', target: '/b', readonly: true }],
    ['type=bind,source=/a,target=/b,readonly=0', { type: 'bind', source: '/a', target: '/b', readonly: false }],
    ['source=cache,target=/cache', { type: 'volume', source: 'cache', target: '/cache' }],
    ['type=volume,target=/anon', { type: 'volume', target: '/anon' }],
    ['type=volume,source=,target=/anon', { type: 'volume', target: '/anon' }],
    ['TYPE=Tmpfs,Target=/t,tmpfs-size=64m', { type: 'tmpfs', target: '/t' }],
    ['type=bind,"source=/a,b",target=/c,', { type: 'bind', source: '/a,b', target: '/c' }],
    ['type=bind,"source=/say ""hi""",target=/c', { type: 'bind', source: '/say "hi"', target: '/c' }],
    ['type=bind,source=/with space/$x\\y,target=/c', { type: 'bind', source: '/with space/$x\\y', target: '/c' }],
  ])('%s', (text, expected) => {
    expect(parseMountString(text)).toEqual(expected);
  });

  it.each([
    ['type=bind,target=/b', 'type `bind` needs `source`'],
    ['type=bind,source=/a', 'needs `target`'],
    ['type=npipe,source=/a,target=/b', 'type must be bind, volume or tmpfs (got `npipe`)'],
    ['type=tmpfs,source=/a,target=/b', 'type `tmpfs` cannot have `source`'],
    ['type=bind,source=/a,target=/b,readonly=maybe', '`readonly` must be true or false (got `maybe`)'],
    ['type=bind,"source=/a,target=/b', 'unterminated quote'],
  ])('rejects %s', (text, problem) => {
    const error = thrown(() => parseMountString(text, 'devcontainer.json:3: `mounts[0]`'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(`devcontainer.json:3: \`mounts[0]\`: invalid mount \`${text}\`: ${problem}`);
    expect(error.hint).toContain('type=bind,source=');
  });
});
