import { describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { parseTemplateManifest, type TemplateManifest } from '../../../../src/services/project/templates-catalog.js';
import {
  findTemplatePlaceholders,
  parseOptionAssignments,
  resolveTemplateOptions,
  substituteTemplateOptions,
} from '../../../../src/services/project/templates-options.js';
import { thrownDevenvError as thrown } from '../../../support/devenv-error.js';

const manifest: TemplateManifest = {
  id: 'node',
  name: 'Node',
  options: {
    image: { type: 'string', default: 'node:22', proposals: ['node:22', 'node:20'] },
    packageManager: { type: 'string', default: 'npm', enum: ['npm', 'yarn'] },
    lint: { type: 'boolean', default: true },
  },
};

describe('parseOptionAssignments', () => {
  it('splits at the first =, keeps the rest of the value, and lets a later one win', () => {
    expect(parseOptionAssignments(['image=reg:5000/x:1', 'a=b=c', 'empty=', 'image=debian:bookworm'])).toEqual({
      image: 'debian:bookworm',
      a: 'b=c',
      empty: '',
    });
  });

  it('refuses an assignment without a name', () => {
    for (const text of ['image', '=x', ' =x']) {
      const e = thrown(() => parseOptionAssignments([text]));
      expect(e.code).toBe('USAGE');
      expect(e.message).toContain('NAME=VALUE');
    }
  });
});

describe('resolveTemplateOptions', () => {
  it('fills in defaults as strings and keeps given values (proposals are only suggestions)', () => {
    expect(resolveTemplateOptions(manifest, {})).toEqual({ image: 'node:22', packageManager: 'npm', lint: 'true' });
    expect(resolveTemplateOptions(manifest, { image: 'mirror.local/node:22', lint: 'false' })).toEqual({
      image: 'mirror.local/node:22',
      packageManager: 'npm',
      lint: 'false',
    });
  });

  it('names unknown options and lists the valid ones', () => {
    const e = thrown(() => resolveTemplateOptions(manifest, { imag: 'x', other: 'y' }));
    expect(e.code).toBe('USAGE');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('`imag`');
    expect(e.message).toContain('`other`');
    expect(e.message).toContain('valid options: `image`, `packageManager`, `lint`');
  });

  it('refuses a value outside the enum, listing the allowed ones', () => {
    const e = thrown(() => resolveTemplateOptions(manifest, { packageManager: 'pnpm' }));
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('`pnpm`');
    expect(e.message).toContain('`npm`, `yarn`');
  });

  it('refuses a boolean that is not true or false', () => {
    expect(thrown(() => resolveTemplateOptions(manifest, { lint: 'yes' })).message).toContain('boolean');
  });
});

describe('substituteTemplateOptions', () => {
  it('replaces every placeholder of a known option and leaves the others', () => {
    const text = '${templateOption:image} ${templateOption:image} ${templateOption:nope} ${localEnv:HOME}';
    expect(substituteTemplateOptions(text, { image: 'debian:bookworm' })).toBe('debian:bookworm debian:bookworm ${templateOption:nope} ${localEnv:HOME}');
  });

  it('escapes values as JSON string content in JSON files', () => {
    const out = substituteTemplateOptions('{"image": "${templateOption:image}"}', { image: 'a"b\\c' }, { json: true });
    expect(JSON.parse(out)).toEqual({ image: 'a"b\\c' });
  });

  it('finds the placeholders a text uses', () => {
    expect(findTemplatePlaceholders('${templateOption:a} ${templateOption:b} ${templateOption:a}')).toEqual(['a', 'b']);
  });
});

describe('parseTemplateManifest', () => {
  it('reads the spec fields', () => {
    const m = parseTemplateManifest(
      JSON.stringify({ id: 'x', name: 'X', version: '1.0.0', description: 'd', options: { v: { type: 'string', enum: ['a', 'b'], default: 'a' } } }),
      'x',
    );
    expect(m).toEqual({ id: 'x', name: 'X', version: '1.0.0', description: 'd', options: { v: { type: 'string', enum: ['a', 'b'], default: 'a' } } });
  });

  it('refuses broken manifests with the template named', () => {
    expect(thrown(() => parseTemplateManifest('{', 'here')).code).toBe('CONFIG_PARSE');
    for (const doc of [
      { name: 'X' },
      { id: 'Bad Id', name: 'X' },
      { id: 'x', name: 'X', options: { v: { type: 'number', default: 1 } } },
      { id: 'x', name: 'X', options: { v: { type: 'string', enum: ['a'], default: 'b' } } },
      { id: 'x', name: 'X', options: { v: { type: 'boolean', default: 'true' } } },
    ]) {
      const e = thrown(() => parseTemplateManifest(JSON.stringify(doc), 'here'));
      expect(e.code).toBe('CONFIG_INVALID');
      expect(e.message).toContain('`here`');
    }
  });
});
