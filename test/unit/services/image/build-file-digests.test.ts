import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openFileDigests } from '../../../../src/services/image/build-file-digests.js';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
/** A clock a minute ahead: every file looks settled. */
const later = (): number => Date.now() + 60_000;

describe('FileDigests', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'file-digests-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('answers a later build from the saved record, without reading, while the stat matches', () => {
    const file = join(dir, 'g.txt');
    writeFileSync(file, 'content');
    const st = lstatSync(file);
    const first = openFileDigests(dir, later);
    expect(first.digest(file, st)).toBe(sha('content'));
    first.save();
    rmSync(file); // gone: only the record can answer
    expect(openFileDigests(dir, later).digest(file, st)).toBe(sha('content'));
  });

  it('hashes again when the stat changed', () => {
    const file = join(dir, 'f.txt');
    writeFileSync(file, 'one');
    const first = openFileDigests(dir, later);
    expect(first.digest(file, lstatSync(file))).toBe(sha('one'));
    first.save();
    writeFileSync(file, 'two!');
    expect(openFileDigests(dir, later).digest(file, lstatSync(file))).toBe(sha('two!'));
  });

  it('does not remember a file changed in the last two seconds (its next change could share the timestamp)', () => {
    const file = join(dir, 'fresh.txt');
    writeFileSync(file, 'x');
    const st = lstatSync(file);
    const d = openFileDigests(dir); // the real clock: the file is brand new
    expect(d.digest(file, st)).toBe(sha('x'));
    d.save();
    writeFileSync(file, 'y'); // same size; had the record been kept, the old stat would answer 'x'
    expect(openFileDigests(dir, later).digest(file, st)).toBe(sha('y'));
  });
});
