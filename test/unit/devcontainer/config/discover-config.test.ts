import { join, relative } from 'node:path';

import { describe, expect, it } from 'vitest';

import { findConfigFile, listConfigFiles } from '../../../../src/devcontainer/config/discover-config.js';
import { copyFixture, makeTempDir, thrown, writeFiles } from './temp-dirs.js';

const CONFIG = '{ "image": "alpine" }';

describe('findConfigFile', () => {
  it('prefers .devcontainer/devcontainer.json over .devcontainer.json and sub-folder configs', () => {
    const root = writeFiles(makeTempDir(), {
      '.devcontainer/devcontainer.json': CONFIG,
      '.devcontainer.json': CONFIG,
      '.devcontainer/a/devcontainer.json': CONFIG,
    });
    expect(findConfigFile(root)).toBe(join(root, '.devcontainer/devcontainer.json'));
    expect(listConfigFiles(root)).toEqual([
      join(root, '.devcontainer/devcontainer.json'),
      join(root, '.devcontainer.json'),
      join(root, '.devcontainer/a/devcontainer.json'),
    ]);
  });

  it('takes .devcontainer.json next', () => {
    const root = copyFixture('dot-devcontainer-json');
    expect(findConfigFile(root)).toBe(join(root, '.devcontainer.json'));
  });

  it('takes a top-level config over several sub-folder ones', () => {
    const root = writeFiles(makeTempDir(), {
      '.devcontainer.json': CONFIG,
      '.devcontainer/a/devcontainer.json': CONFIG,
      '.devcontainer/b/devcontainer.json': CONFIG,
    });
    expect(findConfigFile(root)).toBe(join(root, '.devcontainer.json'));
  });

  it('takes the only sub-folder config', () => {
    const root = copyFixture('single-subfolder');
    expect(findConfigFile(root)).toBe(join(root, '.devcontainer/python/devcontainer.json'));
  });

  it('looks one level deep only, and only at files', () => {
    const root = writeFiles(makeTempDir(), {
      '.devcontainer/a/b/devcontainer.json': CONFIG,
      '.devcontainer/c/devcontainer.json/x': 'a directory named devcontainer.json',
      '.devcontainer/only/devcontainer.json': CONFIG,
    });
    expect(listConfigFiles(root)).toEqual([join(root, '.devcontainer/only/devcontainer.json')]);
  });

  it('rejects several sub-folder configs, listing them and suggesting --config', () => {
    const root = copyFixture('subfolder-configs');
    const error = thrown(() => findConfigFile(root));
    expect(error.code).toBe('CONFIG_AMBIGUOUS');
    expect(error.message).toContain(root);
    expect(error.message).toContain('.devcontainer/a/devcontainer.json, .devcontainer/b/devcontainer.json');
    expect(error.hint).toContain(`--config ${relative(process.cwd(), join(root, '.devcontainer/a/devcontainer.json'))}`);
    expect(listConfigFiles(root)).toHaveLength(2);
  });

  it('reports a folder without config, pointing at devenv init', () => {
    const root = makeTempDir();
    const error = thrown(() => findConfigFile(root));
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.message).toContain(root);
    expect(error.hint).toContain('devenv init');
    expect(listConfigFiles(root)).toEqual([]);
  });

  it('resolves --config against the current directory, not the workspace folder', () => {
    const root = copyFixture('subfolder-configs');
    const cwd = process.cwd();
    try {
      process.chdir(join(root, '.devcontainer'));
      expect(findConfigFile('/nonexistent-workspace', 'b/devcontainer.json')).toBe(join(root, '.devcontainer/b/devcontainer.json'));
      expect(findConfigFile(root, join(root, '.devcontainer/a/devcontainer.json'))).toBe(join(root, '.devcontainer/a/devcontainer.json'));
      const error = thrown(() => findConfigFile(root, 'missing.json'));
      expect(error.code).toBe('CONFIG_NOT_FOUND');
      expect(error.message).toContain(join(root, '.devcontainer/missing.json'));
    } finally {
      process.chdir(cwd);
    }
  });
});
