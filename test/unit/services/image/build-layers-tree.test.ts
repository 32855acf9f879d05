import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { XattrReader } from '../../../../src/image/build/upper-diff.js';
import { layersTree } from '../../../../src/services/image/build-copy.js';

function files(root: string, list: Record<string, string | null>): void {
  for (const [rel, text] of Object.entries(list)) {
    if (text === null) mkdirSync(join(root, rel), { recursive: true });
    else {
      mkdirSync(join(root, rel, '..'), { recursive: true });
      writeFileSync(join(root, rel), text);
    }
  }
}

describe('layersTree (the merged view COPY --from reads)', () => {
  let dir: string;
  let lower: string;
  let upper: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'layers-tree-'));
    lower = join(dir, 'lower');
    upper = join(dir, 'upper');
    files(lower, { 'etc/foo/old': 'o', 'etc/foo/sub/deep': 'd', 'etc/keep': 'k', 'a/b': 'b', 'opt/x': 'x' });
    files(upper, { 'etc/foo/new': 'n', a: 'now a file', 'opt/y': 'y' });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const opaqueAt = (paths: string[]): XattrReader => ({
    list: (p) => (paths.includes(p) ? ['user.overlay.opaque'] : []),
    get: (p, n) => (paths.includes(p) && n === 'user.overlay.opaque' ? 'y' : undefined),
  });

  it('hides what is below an opaque directory, and merges ordinary ones', () => {
    const tree = layersTree([upper, lower], 'stage', opaqueAt([join(upper, 'etc', 'foo')]));
    expect(tree.readdir('etc/foo')).toEqual(['new']);
    expect(tree.lstat('etc/foo/old')).toBeUndefined();
    expect(tree.lstat('etc/foo/sub/deep')).toBeUndefined();
    expect(tree.readdir('etc')).toEqual(['foo', 'keep']);
    expect(tree.readdir('opt')).toEqual(['x', 'y']);
    expect(tree.hostPath('opt/x')).toBe(join(lower, 'opt', 'x'));
  });

  it('without the marker, lower files show through (the case the marker exists for)', () => {
    const tree = layersTree([upper, lower], 'stage', opaqueAt([]));
    expect(tree.readdir('etc/foo')).toEqual(['new', 'old', 'sub']);
  });

  it('a non-directory in an upper layer hides the lower directory of that name and its content', () => {
    const tree = layersTree([upper, lower], 'stage', opaqueAt([]));
    expect(tree.lstat('a')?.isFile()).toBe(true);
    expect(tree.lstat('a/b')).toBeUndefined();
    expect(tree.readdir('a')).toEqual([]);
  });

  it('an opaque layer root hides every lower layer', () => {
    const tree = layersTree([upper, lower], 'stage', opaqueAt([join(upper, '')]));
    expect(tree.readdir('')).toEqual(['a', 'etc', 'opt']);
    expect(tree.readdir('opt')).toEqual(['y']);
  });
});
