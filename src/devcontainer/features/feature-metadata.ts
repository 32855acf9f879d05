/**
 * `devcontainer-feature.json` text → FeatureMetadata, checked field by field so that a broken Feature fails here,
 * naming the Feature and the field, instead of deep inside the build. Pure.
 */
import { DevenvError } from '../../errors.js';
import { parseJsonWithComments } from '../config/parse-config.js';
import type { FeatureMetadata, FeatureOption } from './feature-types.js';

/** The file every Feature has at its root. */
export const FEATURE_METADATA_FILE = 'devcontainer-feature.json';

const ID = /^[A-Za-z0-9_-]+$/;

type Kind = 'string' | 'boolean' | 'strings' | 'object' | 'command' | 'mounts' | 'stringMap';

const FIELDS: Record<string, Kind> = {
  id: 'string',
  version: 'string',
  name: 'string',
  description: 'string',
  documentationURL: 'string',
  licenseURL: 'string',
  containerEnv: 'stringMap',
  mounts: 'mounts',
  capAdd: 'strings',
  securityOpt: 'strings',
  init: 'boolean',
  privileged: 'boolean',
  entrypoint: 'string',
  customizations: 'object',
  onCreateCommand: 'command',
  updateContentCommand: 'command',
  postCreateCommand: 'command',
  postStartCommand: 'command',
  postAttachCommand: 'command',
  dependsOn: 'object',
  installsAfter: 'strings',
  legacyIds: 'strings',
  deprecated: 'boolean',
  options: 'object',
};

const KIND_TEXT: Record<Kind, string> = {
  string: 'a string',
  boolean: 'true or false',
  strings: 'an array of strings',
  object: 'an object',
  command: 'a string, an array of strings, or an object of those',
  mounts: 'an array of mount strings or {type, source, target} objects',
  stringMap: 'an object of strings',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStrings(value: unknown): boolean {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function hasKind(value: unknown, kind: Kind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'strings':
      return isStrings(value);
    case 'object':
      return isObject(value);
    case 'stringMap':
      return isObject(value) && Object.values(value).every((v) => typeof v === 'string');
    case 'command':
      return typeof value === 'string' || isStrings(value) || (isObject(value) && Object.values(value).every((v) => typeof v === 'string' || isStrings(v)));
    case 'mounts':
      return Array.isArray(value) && value.every((m) => typeof m === 'string' || (isObject(m) && typeof m.target === 'string'));
  }
}

function checkOption(where: string, name: string, option: unknown): FeatureOption {
  const fail = (why: string): never => {
    throw new DevenvError('FEATURE_INVALID', `${where}: \`options.${name}\` ${why}`, { hint: 'Fix the Feature, or ask its author to.' });
  };
  if (!isObject(option)) return fail('must be an object');
  if (option.type !== 'string' && option.type !== 'boolean') return fail('must have `type` "string" or "boolean"');
  if (option.default !== undefined && typeof option.default !== 'string' && typeof option.default !== 'boolean') return fail('has a `default` that is neither a string nor a boolean');
  if (option.enum !== undefined && !isStrings(option.enum)) return fail('has an `enum` that is not an array of strings');
  if (option.proposals !== undefined && !isStrings(option.proposals)) return fail('has `proposals` that are not an array of strings');
  return option as unknown as FeatureOption;
}

/**
 * Parse a devcontainer-feature.json (comments allowed). `where` names the Feature in messages
 * (``feature `./features/hello` ``). Throws FEATURE_INVALID naming the field.
 */
export function parseFeatureMetadata(text: string, where: string): FeatureMetadata {
  let raw: unknown;
  try {
    raw = parseJsonWithComments(`${where}: ${FEATURE_METADATA_FILE}`, text);
  } catch (error) {
    if (error instanceof DevenvError) throw new DevenvError('FEATURE_INVALID', error.message, { hint: 'Fix the Feature, or ask its author to.', cause: error });
    throw error;
  }
  if (!isObject(raw)) throw new DevenvError('FEATURE_INVALID', `${where}: ${FEATURE_METADATA_FILE} is not a JSON object`);
  for (const [key, kind] of Object.entries(FIELDS)) {
    const value = raw[key];
    if (value !== undefined && !hasKind(value, kind)) {
      throw new DevenvError('FEATURE_INVALID', `${where}: ${FEATURE_METADATA_FILE} \`${key}\` must be ${KIND_TEXT[kind]}`, { hint: 'Fix the Feature, or ask its author to.' });
    }
  }
  if (typeof raw.id !== 'string' || !ID.test(raw.id)) {
    throw new DevenvError('FEATURE_INVALID', `${where}: ${FEATURE_METADATA_FILE} needs an \`id\` of letters, digits, \`-\` and \`_\``, { hint: 'Fix the Feature, or ask its author to.' });
  }
  if (raw.options !== undefined) {
    for (const [name, option] of Object.entries(raw.options as Record<string, unknown>)) checkOption(where, name, option);
  }
  if (raw.dependsOn !== undefined) {
    for (const [dep, options] of Object.entries(raw.dependsOn as Record<string, unknown>)) {
      if (typeof options !== 'string' && typeof options !== 'boolean' && !isObject(options)) {
        throw new DevenvError('FEATURE_INVALID', `${where}: ${FEATURE_METADATA_FILE} \`dependsOn.${dep}\` must be an options object`);
      }
    }
  }
  return raw as unknown as FeatureMetadata;
}
