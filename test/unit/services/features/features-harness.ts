import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach } from 'vitest';

import { createLogger } from './quiet-logger.js';
import type { ServiceContext } from '../../../../src/services/service-context.js';

export const FEATURE_FIXTURES = fileURLToPath(new URL('../../../fixtures/features/', import.meta.url));

const created: string[] = [];
afterEach(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'devenv-features-'): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  created.push(dir);
  return dir;
}

export function context(root = tempDir('devenv-store-')): ServiceContext {
  return { root, logger: createLogger() };
}

/**
 * A project in a fresh temp folder: devcontainer.json (object → JSON) and the named fixture Features copied to
 * .devcontainer/features/.
 */
export function makeFeatureProject(config: object, features: string[] = [], parent = tempDir('devenv-project-')): { folder: string; configFile: string } {
  const folder = join(parent, 'project');
  const configFile = join(folder, '.devcontainer', 'devcontainer.json');
  mkdirSync(dirname(configFile), { recursive: true });
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  for (const f of features) cpSync(join(FEATURE_FIXTURES, f), join(folder, '.devcontainer', 'features', f), { recursive: true });
  return { folder, configFile };
}
