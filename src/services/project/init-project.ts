import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

import { DevenvError, toDevenvError } from '../../errors.js';
import { writeFileAtomic } from '../../host/atomic-file.js';
import {
  bundledTemplatesDir,
  listTemplateFiles,
  listTemplateSources,
  readTemplate,
  TEMPLATE_MANIFEST_FILE,
  type TemplateOption,
  type TemplateSource,
} from './templates-catalog.js';
import { resolveTemplateOptions, substituteTemplateOptions } from './templates-options.js';

/** What `devenv init` is asked to do. */
export interface InitOptions {
  /** The project folder to write into (created when missing). */
  workspaceFolder: string;
  /** A template id (`node`), or the path of a folder holding a devcontainer-template.json. */
  template: string;
  /** Option values by name (`--option NAME=VALUE`); the others take their defaults. */
  options?: Record<string, string>;
  /** Overwrite existing files (and write beside an existing devcontainer.json). */
  force?: boolean;
  /** Where templates are looked up by id (default: the bundled `templates/`). */
  templatesDir?: string;
}

/** What `devenv init` did; its `--json` form. */
export interface InitResult {
  template: { id: string; name: string; version?: string };
  workspaceFolder: string;
  /** Every option's value, as substituted. */
  options: Record<string, string>;
  /** The files written, relative to the workspace folder. */
  files: string[];
  /** Those of `files` that existed before (only with force). */
  overwritten: string[];
}

/** A template as `devenv init --list` shows it. */
export interface TemplateSummary {
  id: string;
  name: string;
  description: string;
  version?: string;
  options: Record<string, TemplateOption>;
}

/** The places a Dev Container config is looked for; a project with one of them is already set up. */
const CONFIG_FILES = ['.devcontainer/devcontainer.json', '.devcontainer.json'];

function summarise(source: TemplateSource): TemplateSummary {
  const m = source.manifest;
  return { id: m.id, name: m.name, description: m.description ?? '', ...(m.version ? { version: m.version } : {}), options: m.options };
}

/** The templates `devenv init` offers (bundled, or those in `templatesDir`), sorted by id. */
export function listTemplates(templatesDir: string = bundledTemplatesDir()): TemplateSummary[] {
  return listTemplateSources(templatesDir).map(summarise);
}

function isTemplatePath(text: string): boolean {
  return isAbsolute(text) || text.startsWith('.') || text.includes('/');
}

/** Find a template by id, or read it from a folder when `template` is a path. */
export function findTemplate(template: string, templatesDir: string = bundledTemplatesDir()): TemplateSource {
  if (isTemplatePath(template)) {
    const dir = resolve(template);
    if (!existsSync(join(dir, TEMPLATE_MANIFEST_FILE))) {
      throw new DevenvError('USAGE', `template \`${template}\`: no ${TEMPLATE_MANIFEST_FILE} in \`${dir}\``, {
        hint: 'Pass a template id (`devenv init --list`) or a folder holding a devcontainer-template.json.',
      });
    }
    return readTemplate(dir);
  }
  const sources = listTemplateSources(templatesDir);
  const found = sources.find((s) => s.manifest.id === template);
  if (found) return found;
  throw new DevenvError('USAGE', `no template \`${template}\` (available: ${sources.map((s) => s.manifest.id).join(', ')})`, {
    hint: 'Run `devenv init --list` to see the templates and what they are for.',
  });
}

function isJsonFile(path: string): boolean {
  return /\.jsonc?$/i.test(path) || /(^|\/)\.devcontainer\.json$/.test(path);
}

/**
 * Apply a Dev Container Template to a project: copy its files (all but its manifest and docs) into the workspace
 * folder with `${templateOption:NAME}` replaced. Nothing is written when a file exists (or the project already has
 * a devcontainer config) unless `force`; then the template's files replace the existing ones and nothing else
 * is touched.
 */
export function initProject(options: InitOptions): InitResult {
  const source = findTemplate(options.template, options.templatesDir);
  const values = resolveTemplateOptions(source.manifest, options.options ?? {});
  const workspace = resolve(options.workspaceFolder);
  if (existsSync(workspace) && !statSync(workspace).isDirectory()) {
    throw new DevenvError('USAGE', `init: the workspace folder \`${workspace}\` is not a directory`, {
      hint: 'Pass a project folder with --workspace-folder.',
    });
  }
  const files = listTemplateFiles(source.dir);
  const existing = files.filter((f) => existsSync(join(workspace, f)));
  if (!options.force) {
    const conflicts = [...new Set([...CONFIG_FILES.filter((f) => existsSync(join(workspace, f))), ...existing])];
    if (conflicts.length > 0) {
      const named = conflicts.map((f) => `\`${join(workspace, f)}\``).join(', ');
      throw new DevenvError('USAGE', `init: ${named} already exist${conflicts.length === 1 ? 's' : ''}; not overwriting`, {
        exitCode: 1,
        hint: 'Pass --force to replace it with the template, or edit the existing configuration.',
      });
    }
  }
  const written: string[] = [];
  for (const file of files) {
    const from = join(source.dir, file);
    const to = join(workspace, file);
    try {
      const text = readFileSync(from, 'utf8');
      const mode = (statSync(from).mode & 0o111) !== 0 ? 0o755 : 0o644;
      mkdirSync(dirname(to), { recursive: true });
      writeFileAtomic(to, substituteTemplateOptions(text, values, { json: isJsonFile(file) }), { mode });
    } catch (error) {
      throw toDevenvError(`init: write \`${to}\``, error);
    }
    written.push(relative(workspace, to));
  }
  const m = source.manifest;
  return {
    template: { id: m.id, name: m.name, ...(m.version ? { version: m.version } : {}) },
    workspaceFolder: workspace,
    options: values,
    files: written,
    overwritten: existing,
  };
}
