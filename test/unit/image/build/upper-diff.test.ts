import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { nativeXattrReader } from '../../../../src/image/build/native-xattrs.js';
import { LayerTarWriter } from '../../../../src/image/build/layer-tar.js';
import { writeUpperDiff, type XattrReader } from '../../../../src/image/build/upper-diff.js';

async function tarNames(file: string): Promise<string[]> {
  const names: string[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    names.push(h.name);
    stream.resume();
    stream.on('end', () => next());
  });
  const done = new Promise<void>((r) => extract.on('finish', () => r()));
  extract.end(readFileSync(file));
  await done;
  return names;
}

/** An in-memory xattr table: path → name → value. */
function fakeXattrs(table: Record<string, Record<string, string>>): XattrReader {
  return { list: (p) => Object.keys(table[p] ?? {}), get: (p, n) => table[p]?.[n] };
}

describe('writeUpperDiff', () => {
  let dir: string;
  let upper: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'upper-diff-'));
    upper = join(dir, 'upper');
    mkdirSync(join(upper, 'etc', 'foo'), { recursive: true });
    writeFileSync(join(upper, 'etc', 'foo', 'new'), 'n\n');
    writeFileSync(join(upper, 'etc', 'gone'), ''); // an xattr whiteout when marked
    writeFileSync(join(upper, 'etc', 'empty'), ''); // a plain empty file otherwise
    mkdirSync(join(upper, 'var'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const diff = async (xattrs?: XattrReader): Promise<string[]> => {
    const file = join(dir, 'layer.tar');
    const fd = openSync(file, 'w');
    try {
      const w = new LayerTarWriter(fd);
      writeUpperDiff(upper, w, xattrs);
      w.finish();
    } finally {
      closeSync(fd);
    }
    return tarNames(file);
  };

  it('adds .wh..wh..opq to opaque directories (trusted. and user. names) and turns xattr whiteouts into .wh. entries', async () => {
    const names = await diff(
      fakeXattrs({
        [join(upper, 'etc', 'foo')]: { 'trusted.overlay.opaque': 'y' },
        [join(upper, 'var')]: { 'user.overlay.opaque': 'y' },
        [join(upper, 'etc', 'gone')]: { 'user.overlay.whiteout': '' },
      }),
    );
    expect(names).toEqual(['etc/', 'etc/empty', 'etc/foo/', 'etc/foo/.wh..wh..opq', 'etc/foo/new', 'etc/.wh.gone', 'var/', 'var/.wh..wh..opq']);
  });

  it('does not take opaque=x (a directory that may hold xattr whiteouts) for an opaque one', async () => {
    const names = await diff(fakeXattrs({ [join(upper, 'etc', 'foo')]: { 'user.overlay.opaque': 'x' } }));
    expect(names).not.toContain('etc/foo/.wh..wh..opq');
    expect(names).toContain('etc/gone');
  });

  it('refuses a redirected (renamed) directory, whose content stays in the lower layer', async () => {
    await expect(diff(fakeXattrs({ [join(upper, 'var')]: { 'trusted.overlay.redirect': '/old' } }))).rejects.toThrow(/renamed directory.*redirect_dir=off/);
  });

  it('reads real user.overlay.* markers through the native addon', async () => {
    const set = (path: string, name: string, value: string): void => {
      const r = spawnSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())', path, name, value], { encoding: 'utf8' });
      expect(r.status, `python3 setxattr: ${r.stderr}${r.error?.message ?? ''}`).toBe(0);
    };
    set(join(upper, 'etc', 'foo'), 'user.overlay.opaque', 'y');
    set(join(upper, 'etc', 'gone'), 'user.overlay.whiteout', 'y');
    const reader = nativeXattrReader();
    expect(reader.get(join(upper, 'etc', 'foo'), 'user.overlay.opaque')).toBe('y');
    expect(reader.get(join(upper, 'var'), 'user.overlay.opaque')).toBeUndefined();
    const names = await diff(reader);
    expect(names).toEqual(['etc/', 'etc/empty', 'etc/foo/', 'etc/foo/.wh..wh..opq', 'etc/foo/new', 'etc/.wh.gone', 'var/']);
  });

  it('the native reader reports a missing file as ENOENT', () => {
    expect(() => nativeXattrReader().list(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'llistxattr' }) as Error);
  });
});
