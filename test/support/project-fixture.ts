import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { testUser, uidOf, type Mode } from './devenv-cli.js';

/**
 * A devcontainer project in a test's directory, owned by the mode's user (rootless tests run devenv as the CI
 * test user, whose workspace must be its own). `files` maps paths relative to the project to their text (objects
 * are written as JSON).
 */
export function makeProject(parent: string, name: string, mode: Mode, files: Record<string, string | object>): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  if (mode === 'rootless') {
    const uid = uidOf(testUser());
    spawnSync('chown', ['-R', `${uid}:${uid}`, dir]);
  }
  return dir;
}

/** devcontainer.json at the usual place. */
export function devcontainerJson(config: object | string): Record<string, string | object> {
  return { '.devcontainer/devcontainer.json': config };
}
