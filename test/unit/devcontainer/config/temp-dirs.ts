import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/projects/', import.meta.url));

const created: string[] = [];
afterEach(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh real directory outside any git repository, removed after the test. */
export function makeTempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'devenv-config-')));
  created.push(dir);
  return dir;
}

/** Write `files` (path relative to `root` → text) and return `root`. */
export function writeFiles(root: string, files: Record<string, string>): string {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

/** A copy of fixture project `name` in a temp dir (fixtures live in this repo: its .git would be their git root). */
export function copyFixture(name: string): string {
  const dir = join(makeTempDir(), name);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

/** The DevenvError `run` throws (fails the test if it throws nothing or something else). */
export function thrown(run: () => unknown): DevenvError {
  try {
    run();
  } catch (error) {
    if (error instanceof DevenvError) return error;
    throw error;
  }
  throw new Error('expected a DevenvError');
}
