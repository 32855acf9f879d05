import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { removeMountStubs } from '../../../../src/services/image/build-mount-stubs.js';

const TARGETS = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];

describe('removeMountStubs', () => {
  let dir: string;
  let upper: string;
  let lower: string;
  let top: string;
  const put = (base: string, rel: string, content = ''): void => {
    mkdirSync(join(base, rel, '..'), { recursive: true });
    writeFileSync(join(base, rel), content);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mount-stubs-'));
    upper = join(dir, 'upper');
    lower = join(dir, 'lower');
    top = join(dir, 'top');
    for (const d of [upper, lower, top]) mkdirSync(d);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('removes empty stubs of files the image lacks, keeps the step\'s other changes', () => {
    put(lower, 'etc/hostname', 'image\n');
    for (const f of ['etc/hosts', 'etc/resolv.conf', 'etc/hostname']) put(upper, f);
    put(upper, 'etc/motd', 'written by RUN\n');
    expect(removeMountStubs(upper, [lower], TARGETS).sort()).toEqual(['etc/hosts', 'etc/resolv.conf']);
    expect(existsSync(join(upper, 'etc/hostname'))).toBe(true); // the image has it: not a stub of ours
    expect(existsSync(join(upper, 'etc/motd'))).toBe(true);
  });

  it('removes directories made only to hold the stubs (FROM scratch), not the image\'s', () => {
    for (const f of ['etc/hosts', 'etc/resolv.conf', 'etc/hostname']) put(upper, f);
    expect(removeMountStubs(upper, [lower], TARGETS)).toContain('etc/');
    expect(existsSync(join(upper, 'etc'))).toBe(false);

    mkdirSync(join(lower, 'etc'));
    put(upper, 'etc/hosts');
    expect(removeMountStubs(upper, [lower], TARGETS)).toEqual(['etc/hosts']);
    expect(existsSync(join(upper, 'etc'))).toBe(true);
  });

  it('leaves a non-empty file (the runtime only ever creates empty ones)', () => {
    put(upper, 'etc/hosts', '10.0.0.1 x\n');
    expect(removeMountStubs(upper, [lower], TARGETS)).toEqual([]);
    expect(existsSync(join(upper, 'etc/hosts'))).toBe(true);
  });

  it('follows the image\'s symlink as the runtime does (resolv.conf → ../run/systemd/resolve/stub-resolv.conf)', () => {
    mkdirSync(join(top, 'etc'), { recursive: true });
    mkdirSync(join(lower, 'run'), { recursive: true });
    symlinkSync('../run/systemd/resolve/stub-resolv.conf', join(top, 'etc', 'resolv.conf'));
    put(upper, 'run/systemd/resolve/stub-resolv.conf');
    expect(removeMountStubs(upper, [top, lower], ['/etc/resolv.conf'])).toEqual([
      'run/systemd/resolve/stub-resolv.conf',
      'run/systemd/resolve/',
      'run/systemd/',
    ]);
    expect(existsSync(join(upper, 'run', 'systemd'))).toBe(false);
    expect(existsSync(join(upper, 'run'))).toBe(true); // the image has /run
  });

  it('a top layer\'s file hides nothing: a file in any layer is the image\'s', () => {
    put(lower, 'etc/hosts', '127.0.0.1 localhost\n');
    mkdirSync(join(top, 'etc'));
    put(upper, 'etc/hosts');
    expect(removeMountStubs(upper, [top, lower], TARGETS)).toEqual([]);
  });
});
