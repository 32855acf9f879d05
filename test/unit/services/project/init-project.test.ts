import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import JSON5 from 'json5';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { findTemplate, initProject, listTemplates } from '../../../../src/services/project/init-project.js';
import { bundledTemplatesDir, listTemplateFiles } from '../../../../src/services/project/templates-catalog.js';
import { findTemplatePlaceholders } from '../../../../src/services/project/templates-options.js';
import { thrownDevenvError as thrown } from '../../../support/devenv-error.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'devenv-init-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function readConfig(workspace: string): Record<string, unknown> {
  return JSON5.parse(readFileSync(join(workspace, '.devcontainer', 'devcontainer.json'), 'utf8')) as Record<string, unknown>;
}

describe('bundled templates', () => {
  const templates = listTemplates();

  it('offers the base, language and minimal templates, each with an image option', () => {
    const ids = templates.map((t) => t.id);
    for (const id of ['busybox', 'debian', 'go', 'node', 'python', 'rust']) expect(ids).toContain(id);
    for (const t of templates) {
      expect(t.description, t.id).not.toBe('');
      expect(t.options.image?.type, t.id).toBe('string');
      expect(t.options.image?.proposals?.length, t.id).toBeGreaterThan(0);
    }
    expect(templates.find((t) => t.id === 'busybox')?.options.image?.default).toBe('busybox:latest');
    expect(templates.find((t) => t.id === 'debian')?.options.image?.default).toBe('mcr.microsoft.com/devcontainers/base:bookworm');
  });

  it('use only placeholders of declared options, and every option is used', () => {
    for (const t of templates) {
      const source = findTemplate(t.id);
      const used = new Set<string>();
      for (const file of listTemplateFiles(source.dir)) {
        for (const name of findTemplatePlaceholders(readFileSync(join(source.dir, file), 'utf8'))) used.add(name);
      }
      expect([...used].sort(), t.id).toEqual(Object.keys(t.options).sort());
    }
  });

  it('each gives a devcontainer.json (JSONC) naming the default image when applied with defaults', () => {
    for (const t of templates) {
      const workspace = join(dir, t.id);
      const result = initProject({ workspaceFolder: workspace, template: t.id });
      expect(result.files, t.id).toContain('.devcontainer/devcontainer.json');
      expect(readConfig(workspace).image, t.id).toBe(t.options.image?.default);
      expect(readFileSync(join(workspace, '.devcontainer', 'devcontainer.json'), 'utf8')).not.toContain('${templateOption:');
    }
  });

  it('live in the package folder `templates/`', () => {
    expect(existsSync(join(bundledTemplatesDir(), 'debian', 'devcontainer-template.json'))).toBe(true);
  });
});

describe('initProject', () => {
  it('substitutes given options and reports what it wrote', () => {
    const result = initProject({ workspaceFolder: dir, template: 'node', options: { image: 'mirror.internal/node:22', packageManager: 'yarn' } });
    expect(result).toMatchObject({
      template: { id: 'node' },
      workspaceFolder: dir,
      options: { image: 'mirror.internal/node:22', packageManager: 'yarn' },
      files: ['.devcontainer/devcontainer.json'],
      overwritten: [],
    });
    const config = readConfig(dir);
    expect(config.image).toBe('mirror.internal/node:22');
    expect(config.postCreateCommand).toBe('test ! -f package.json || yarn install');
  });

  it('creates a missing workspace folder', () => {
    const workspace = join(dir, 'a', 'b');
    initProject({ workspaceFolder: workspace, template: 'busybox' });
    expect(readConfig(workspace).image).toBe('busybox:latest');
  });

  it('refuses to overwrite an existing config, naming it, and replaces it with force', () => {
    initProject({ workspaceFolder: dir, template: 'busybox' });
    const e = thrown(() => initProject({ workspaceFolder: dir, template: 'debian' }));
    expect(e.code).toBe('USAGE');
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain(join(dir, '.devcontainer', 'devcontainer.json'));
    expect(e.hint).toContain('--force');
    expect(readConfig(dir).image).toBe('busybox:latest');

    const forced = initProject({ workspaceFolder: dir, template: 'debian', options: { image: 'debian:bookworm' }, force: true });
    expect(forced.overwritten).toEqual(['.devcontainer/devcontainer.json']);
    expect(readConfig(dir).image).toBe('debian:bookworm');
  });

  it('treats a root .devcontainer.json as an existing config', () => {
    writeFileSync(join(dir, '.devcontainer.json'), '{"image":"x"}');
    expect(thrown(() => initProject({ workspaceFolder: dir, template: 'debian' })).message).toContain(join(dir, '.devcontainer.json'));
    expect(existsSync(join(dir, '.devcontainer'))).toBe(false);
  });

  it('names the available templates for an unknown id', () => {
    const e = thrown(() => initProject({ workspaceFolder: dir, template: 'cobol' }));
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('`cobol`');
    expect(e.message).toContain('busybox');
    expect(e.message).toContain('python');
  });

  it('checks options against the template before writing anything', () => {
    expect(thrown(() => initProject({ workspaceFolder: dir, template: 'node', options: { packageManager: 'pnpm' } })).message).toContain('`npm`, `yarn`');
    expect(thrown(() => initProject({ workspaceFolder: dir, template: 'busybox', options: { tag: 'x' } })).message).toContain('valid options: `image`');
    expect(existsSync(join(dir, '.devcontainer'))).toBe(false);
  });

  it('applies a template from a folder: all files but its manifest and docs, modes kept, JSON values escaped', () => {
    const template = join(dir, 'tpl');
    mkdirSync(join(template, '.devcontainer'), { recursive: true });
    writeFileSync(
      join(template, 'devcontainer-template.json'),
      JSON.stringify({ id: 'custom', name: 'Custom', options: { image: { type: 'string', default: 'x' }, greeting: { type: 'string', default: 'hi' } } }),
    );
    writeFileSync(join(template, 'README.md'), '# not copied');
    writeFileSync(join(template, 'NOTES.md'), 'not copied');
    writeFileSync(join(template, '.devcontainer', 'devcontainer.json'), '{ "image": "${templateOption:image}" }');
    writeFileSync(join(template, '.devcontainer', 'setup.sh'), '#!/bin/sh\necho ${templateOption:greeting}\n');
    chmodSync(join(template, '.devcontainer', 'setup.sh'), 0o755);
    const workspace = join(dir, 'ws');
    const result = initProject({ workspaceFolder: workspace, template, options: { image: 'say "x"', greeting: 'hello "you"' } });
    expect(result.files).toEqual(['.devcontainer/devcontainer.json', '.devcontainer/setup.sh']);
    expect(readConfig(workspace).image).toBe('say "x"');
    expect(readFileSync(join(workspace, '.devcontainer', 'setup.sh'), 'utf8')).toBe('#!/bin/sh\necho hello "you"\n');
    expect(statSync(join(workspace, '.devcontainer', 'setup.sh')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(workspace, 'README.md'))).toBe(false);
  });

  it('refuses a folder without a template manifest', () => {
    expect(thrown(() => initProject({ workspaceFolder: dir, template: './no-such-folder' })).message).toContain('devcontainer-template.json');
  });
});
