import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { resolveInRoot } from '../../../../src/services/ssh/sftp-fallback.js';

describe('resolveInRoot (sftp paths inside the container root)', () => {
  const root = mkdtempSync(join(tmpdir(), 'devenv-sftp-'));
  mkdirSync(join(root, 'etc'));
  mkdirSync(join(root, 'workspaces', 'p'), { recursive: true });
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  symlinkSync('/etc', join(root, 'workspaces', 'p', 'abs'));
  symlinkSync('../../etc/passwd', join(root, 'workspaces', 'p', 'rel'));
  symlinkSync('/../../../../../etc', join(root, 'up'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('resolves relative paths from the working folder and never climbs above /', async () => {
    expect((await resolveInRoot(root, '/workspaces/p', 'x.txt', true)).path).toBe('/workspaces/p/x.txt');
    expect((await resolveInRoot(root, '/workspaces/p', '../../../../x', true)).host).toBe(`${root}/x`);
    expect((await resolveInRoot(root, '/workspaces/p', '.', true)).path).toBe('/workspaces/p');
  });

  it("follows absolute symlinks from the container's root, not the host's", async () => {
    expect(await resolveInRoot(root, '/', '/workspaces/p/abs/passwd', true)).toEqual({ path: '/etc/passwd', host: `${root}/etc/passwd` });
    expect((await resolveInRoot(root, '/', '/workspaces/p/rel', true)).path).toBe('/etc/passwd');
    expect((await resolveInRoot(root, '/', '/up/passwd', true)).path).toBe('/etc/passwd');
  });

  it('leaves the last link alone when asked (lstat, remove, readlink)', async () => {
    expect((await resolveInRoot(root, '/', '/workspaces/p/rel', false)).path).toBe('/workspaces/p/rel');
  });

  it('fails on a missing directory but allows a missing last component', async () => {
    await expect(resolveInRoot(root, '/', '/nope/x', true)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await resolveInRoot(root, '/', '/etc/new', true)).path).toBe('/etc/new');
  });
});
