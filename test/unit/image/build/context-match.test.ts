import { describe, expect, it } from 'vitest';

import { cleanContextPath, globToRegExp, parseDockerignore } from '../../../../src/image/build/context-match.js';

describe('.dockerignore and globs', () => {
  it('matches Docker patterns: *, **, directories, exceptions, the last rule wins', () => {
    const m = parseDockerignore('# comment\n*.log\n/build\n**/tmp\nsecrets/\n!secrets/public.txt\n');
    expect(m.isIgnored('a.log')).toBe(true);
    expect(m.isIgnored('dir/a.log')).toBe(false); // * does not cross /
    expect(m.isIgnored('build/out/x')).toBe(true);
    expect(m.isIgnored('a/b/tmp/c')).toBe(true);
    expect(m.isIgnored('secrets/key')).toBe(true);
    expect(m.isIgnored('secrets/public.txt')).toBe(false);
    expect(m.hasExceptions).toBe(true);
  });

  it('turns Go-style globs into anchored expressions', () => {
    expect(globToRegExp('*.txt').test('a.txt')).toBe(true);
    expect(globToRegExp('*.txt').test('d/a.txt')).toBe(false);
    expect(globToRegExp('file?.[ch]').test('file1.c')).toBe(true);
    expect(globToRegExp('[^a]*').test('abc')).toBe(false);
    expect(cleanContextPath('./a/../b/')).toBe('b');
  });
});
