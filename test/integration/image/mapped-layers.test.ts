/**
 * Layers under another id mapping (docs/images.md): rootless, `--userns keep-id` containers from an image get their
 * own copy of its layers, unpacked under the container's mapping, so image files keep their owners (root stays
 * root) while the user's files in bind mounts keep the user's. `image prune` and `image rm` take the copies away.
 * Runs bin/devenv as root and as the rootless test user; needs the integration registry (busybox:latest).
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, inject, it } from 'vitest';

import { testUser, uidOf } from '../../support/devenv-cli.js';
import { useSuite } from '../../support/suite.js';
import { subIdStart } from './unpack-harness.js';

const registry = inject('devenvTestRegistry');
const image = `${registry}/busybox:latest`;

/** Every path below dir (as root, so sub-id-owned trees are seen too). */
function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const r = spawnSync('find', [dir, '-mindepth', '1'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

describe('image layers under the keep-id mapping (rootless)', () => {
  const s = useSuite('rootless', 'mapped');
  const mappedDir = () => join(s.root, 'images', 'layers-mapped');
  let user = 0;

  it('a keep-id container sees image files owned by root and the bind mount owned by the user', async () => {
    user = uidOf(testUser());
    const pull = await s.runAsync(['image', 'pull', '-q', image]);
    expect(pull.code, pull.stderr).toBe(0);
    const work = join(s.dir, 'work');
    mkdirSync(work);
    chownSync(work, user, user);

    const script = 'id -u; stat -c %u /bin /bin/busybox /etc/passwd /root /w; touch /w/made-inside; mkdir /w/dir-inside';
    const r = await s.runAsync(['container', 'run', '--rm', '--userns', 'keep-id', '-v', `${work}:/w`, image, 'sh', '-c', script]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([String(user), '0', '0', '0', '0', String(user)]);
    expect(statSync(join(work, 'made-inside')).uid).toBe(user);
    expect(statSync(join(work, 'dir-inside')).uid).toBe(user);

    // The copy: container root is the first subordinate id on the host; the store's own layers are untouched
    // (container root = the user there).
    const areas = readdirSync(mappedDir());
    expect(areas).toHaveLength(1);
    const area = join(mappedDir(), areas[0] as string);
    const layers = readdirSync(area).filter((n) => n !== 'mapping.json');
    expect(layers).toHaveLength(1);
    expect(layers[0]).toMatch(/^[0-9a-f]{64}$/);
    const sub = subIdStart('/etc/subuid', testUser());
    expect(lstatSync(join(area, layers[0] as string, 'diff', 'bin', 'busybox')).uid).toBe(sub);
    expect(lstatSync(join(s.root, 'images', 'layers', layers[0] as string, 'diff', 'bin', 'busybox')).uid).toBe(user);

    // Without keep-id the same image still runs from the store's own layers.
    const plain = await s.runAsync(['container', 'run', '--rm', image, 'sh', '-c', 'id -u; stat -c %u /bin/busybox']);
    expect(plain.stdout.trim().split('\n')).toEqual(['0', '0']);
  });

  it('a second keep-id container reuses the copy', async () => {
    const before = listTree(mappedDir()).map((p) => `${p}:${lstatSync(p).ino}`);
    const r = await s.runAsync(['container', 'run', '--rm', '--userns', 'keep-id', image, 'stat', '-c', '%u', '/bin/busybox']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('0');
    expect(listTree(mappedDir()).map((p) => `${p}:${lstatSync(p).ino}`)).toEqual(before);
  });

  it('repair removes an interrupted unpack of a copy, sub-id-owned files and all', async () => {
    const area = join(mappedDir(), readdirSync(mappedDir())[0] as string);
    const tmp = join(area, `${'ab'.repeat(32)}.tmp-999999-1`);
    const sub = subIdStart('/etc/subuid', testUser());
    mkdirSync(join(tmp, 'diff', 'bin'), { recursive: true });
    spawnSync('touch', [join(tmp, 'diff', 'bin', 'tool')]);
    spawnSync('chown', ['-R', `${user}:${user}`, tmp]);
    spawnSync('chown', ['-R', `${sub}:${sub}`, join(tmp, 'diff', 'bin')]); // the user alone cannot empty bin/
    const ls = await s.runAsync(['image', 'ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(existsSync(tmp)).toBe(false);
  });

  it('prune keeps the copies a container uses and removes them once it is gone', async () => {
    const created = await s.runAsync(['container', 'create', '--userns', 'keep-id', image, 'true']);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    const kept = await s.runAsync(['image', 'prune', '--json']);
    expect(kept.code, kept.stderr).toBe(0);
    expect((JSON.parse(kept.stdout) as { mappedLayersRemoved: string[] }).mappedLayersRemoved).toEqual([]);
    const started = await s.runAsync(['container', 'start', '-a', id]);
    expect(started.code, started.stderr).toBe(0);
    expect((await s.runAsync(['container', 'rm', id])).code).toBe(0);

    const pruned = await s.runAsync(['image', 'prune', '--json']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect((JSON.parse(pruned.stdout) as { mappedLayersRemoved: string[] }).mappedLayersRemoved).toHaveLength(1);
    expect(listTree(mappedDir())).toEqual([]);
    // the image itself stays
    expect(readdirSync(join(s.root, 'images', 'layers')).filter((n) => /^[0-9a-f]{64}$/.test(n))).toHaveLength(1);
  });

  it('image rm removes the copies with the layers, leaving no files', async () => {
    const r = await s.runAsync(['container', 'run', '--rm', '--userns', 'keep-id', image, 'true']);
    expect(r.code, r.stderr).toBe(0);
    expect(listTree(mappedDir()).length).toBeGreaterThan(0);
    const rm = await s.runAsync(['image', 'rm', image]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(listTree(mappedDir())).toEqual([]);
    expect(listTree(join(s.root, 'images', 'layers'))).toEqual([]);
  });
});

describe('image layers under the keep-id mapping (root)', () => {
  const s = useSuite('root', 'mapped');

  it('as root keep-id needs no copy: the store layers are right for the identity mapping', async () => {
    const work = join(s.dir, 'work');
    mkdirSync(work);
    const script = 'id -u; stat -c %u /bin/busybox; touch /w/f';
    const r = await s.runAsync(['container', 'run', '--rm', '--userns', 'keep-id', '-v', `${work}:/w`, image, 'sh', '-c', script]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['0', '0']);
    expect(statSync(join(work, 'f')).uid).toBe(0);
    expect(existsSync(join(s.root, 'images', 'layers-mapped'))).toBe(false);
  });
});
