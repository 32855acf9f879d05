import { describe, expect, it } from 'vitest';

import { blobPath, digestFromBlobPath, normalizeArchivePath, resolveArchiveName, resolveSymlinkTarget } from '../../../../src/image/archive/archive-paths.js';

describe('archive paths', () => {
  it('normalises names', () => {
    expect(normalizeArchivePath('./blobs//sha256/x', 'w')).toBe('blobs/sha256/x');
    expect(normalizeArchivePath('./', 'w')).toBe('');
    expect(normalizeArchivePath('a/./b/', 'w')).toBe('a/b');
  });

  it.each(['../x', 'a/../../x', 'a/..', '/etc/passwd', 'a\0b'])('refuses %j', (name) => {
    expect(() => normalizeArchivePath(name, 'import `x.tar`')).toThrow(expect.objectContaining({ code: 'ARCHIVE_INVALID', message: expect.stringMatching(/^import `x.tar`: /) }));
  });

  it('resolves symlink targets inside the archive only', () => {
    expect(resolveSymlinkTarget('bbbb/layer.tar', '../aaaa/layer.tar', 'w')).toBe('aaaa/layer.tar');
    expect(resolveSymlinkTarget('x', 'blobs/sha256/y', 'w')).toBe('blobs/sha256/y');
    expect(() => resolveSymlinkTarget('a/b', '../../c', 'w')).toThrow(/outside the archive/);
    expect(() => resolveSymlinkTarget('a/b', '/c', 'w')).toThrow(/absolute/);
  });

  it('follows links to a regular file, not through loops', () => {
    const table = { files: new Set(['f']), links: new Map([['a', 'b'], ['b', 'f'], ['x', 'y'], ['y', 'x']]) };
    expect(resolveArchiveName(table, 'a')).toBe('f');
    expect(resolveArchiveName(table, 'x')).toBeUndefined();
    expect(resolveArchiveName(table, 'nope')).toBeUndefined();
  });

  it('maps digests to blob paths and back, refusing anything but sha256 hex', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(digestFromBlobPath(blobPath(digest, 'w'))).toBe(digest);
    expect(digestFromBlobPath('blobs/sha256/../x')).toBeUndefined();
    expect(() => blobPath('sha256:../../etc', 'w')).toThrow(/malformed digest/);
    expect(() => blobPath(`sha512:${'a'.repeat(128)}`, 'w')).toThrow(/only sha256/);
  });
});
