import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DevenvError, isErrnoLike, toDevenvError } from '../../errors.js';

/** One option of a Dev Container Template (`devcontainer-template.json` → `options.<name>`). */
export interface TemplateOption {
  type: 'string' | 'boolean';
  description?: string;
  /** The only values allowed (string options). */
  enum?: string[];
  /** Suggested values; any other value is allowed too. */
  proposals?: string[];
  default: string | boolean;
}

/** A Dev Container Template as its `devcontainer-template.json` describes it (the fields devenv uses). */
export interface TemplateManifest {
  id: string;
  version?: string;
  name: string;
  description?: string;
  keywords?: string[];
  platforms?: string[];
  options: Record<string, TemplateOption>;
  /** Paths (relative to the template) the user may leave out; devenv applies them all. */
  optionalPaths?: string[];
}

/** A template found on disk: its manifest and the folder holding it. */
export interface TemplateSource {
  manifest: TemplateManifest;
  dir: string;
}

/** The file that describes a template; it and the template's docs are never copied into a project. */
export const TEMPLATE_MANIFEST_FILE = 'devcontainer-template.json';
const RESERVED_FILES = new Set([TEMPLATE_MANIFEST_FILE, 'README.md', 'NOTES.md']);
const TEMPLATE_ID = /^[a-z0-9][a-z0-9._-]*$/;

/** The templates bundled with devenv: `<package>/templates` (same depth from src/ and dist/). */
export function bundledTemplatesDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'templates');
}

function invalid(where: string, what: string): DevenvError {
  return new DevenvError('CONFIG_INVALID', `template \`${where}\`: ${what}`, {
    hint: 'A template needs `id`, `name` and `options` as https://containers.dev/implementors/templates/ describes.',
  });
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function parseOption(where: string, name: string, raw: unknown): TemplateOption {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(where, `option \`${name}\` is not an object`);
  const o = raw as Record<string, unknown>;
  if (o.type !== 'string' && o.type !== 'boolean') throw invalid(where, `option \`${name}\` has type ${JSON.stringify(o.type)} (string or boolean)`);
  if (o.type === 'boolean' && typeof o.default !== 'boolean') throw invalid(where, `option \`${name}\` needs a boolean default`);
  if (o.type === 'string' && typeof o.default !== 'string') throw invalid(where, `option \`${name}\` needs a string default`);
  if (o.enum !== undefined && !isStringArray(o.enum)) throw invalid(where, `option \`${name}\`: enum must list strings`);
  if (o.proposals !== undefined && !isStringArray(o.proposals)) throw invalid(where, `option \`${name}\`: proposals must list strings`);
  if (o.enum !== undefined && !o.enum.includes(o.default as string)) throw invalid(where, `option \`${name}\`: the default is not one of its enum values`);
  return {
    type: o.type,
    default: o.default as string | boolean,
    ...(typeof o.description === 'string' ? { description: o.description } : {}),
    ...(o.enum !== undefined ? { enum: o.enum } : {}),
    ...(o.proposals !== undefined ? { proposals: o.proposals } : {}),
  };
}

/** Check and type the JSON of a `devcontainer-template.json` (pure; `where` names it in errors). */
export function parseTemplateManifest(text: string, where: string): TemplateManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new DevenvError('CONFIG_PARSE', `template \`${where}\`: ${TEMPLATE_MANIFEST_FILE} is not JSON`, { cause: error });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(where, 'the manifest is not a JSON object');
  const d = doc as Record<string, unknown>;
  if (typeof d.id !== 'string' || !TEMPLATE_ID.test(d.id)) throw invalid(where, '`id` is missing or not a lower-case name');
  if (typeof d.name !== 'string' || d.name === '') throw invalid(where, '`name` is missing');
  const rawOptions = d.options ?? {};
  if (typeof rawOptions !== 'object' || rawOptions === null || Array.isArray(rawOptions)) throw invalid(where, '`options` is not an object');
  const options: Record<string, TemplateOption> = {};
  for (const [name, raw] of Object.entries(rawOptions)) options[name] = parseOption(where, name, raw);
  return {
    id: d.id,
    name: d.name,
    options,
    ...(typeof d.version === 'string' ? { version: d.version } : {}),
    ...(typeof d.description === 'string' ? { description: d.description } : {}),
    ...(isStringArray(d.keywords) ? { keywords: d.keywords } : {}),
    ...(isStringArray(d.platforms) ? { platforms: d.platforms } : {}),
    ...(isStringArray(d.optionalPaths) ? { optionalPaths: d.optionalPaths } : {}),
  };
}

/** Read the template in `dir` (a folder holding devcontainer-template.json). */
export function readTemplate(dir: string): TemplateSource {
  const file = join(dir, TEMPLATE_MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw toDevenvError(`read template \`${file}\``, error);
  }
  return { manifest: parseTemplateManifest(text, dir), dir };
}

/** Every template below `templatesDir` (one folder each), sorted by id; folders without a manifest are skipped. */
export function listTemplateSources(templatesDir: string): TemplateSource[] {
  let names: string[];
  try {
    names = readdirSync(templatesDir);
  } catch (error) {
    if (isErrnoLike(error) && error.code === 'ENOENT') {
      throw new DevenvError('INTERNAL', `the bundled templates are missing: \`${templatesDir}\` does not exist`, {
        kind: 'bug',
        hint: 'Reinstall devenv; its package must ship the `templates/` folder.',
      });
    }
    throw toDevenvError(`list templates in \`${templatesDir}\``, error);
  }
  const out: TemplateSource[] = [];
  for (const name of names.sort()) {
    const dir = join(templatesDir, name);
    if (!existsSync(join(dir, TEMPLATE_MANIFEST_FILE))) continue;
    out.push(readTemplate(dir));
  }
  return out.sort((a, b) => a.manifest.id.localeCompare(b.manifest.id));
}

/**
 * The files a template puts into a project, relative to its folder and sorted: everything but the reserved
 * files at its top (its manifest, README.md, NOTES.md), as the Templates spec says.
 */
export function listTemplateFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (rel === '' && RESERVED_FILES.has(entry.name)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.push(path);
      else if (entry.isSymbolicLink() && statSync(join(dir, path)).isFile()) out.push(path);
    }
  };
  walk('');
  return out.sort();
}
