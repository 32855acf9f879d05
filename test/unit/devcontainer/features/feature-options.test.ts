import { describe, expect, it } from 'vitest';

import { parseFeatureMetadata } from '../../../../src/devcontainer/features/feature-metadata.js';
import { builtinEnvLines, featureEnvLines, featureOptionValues, homeFromPasswd, optionEnvName } from '../../../../src/devcontainer/features/feature-options.js';
import { thrownDevenvError } from '../../../support/devenv-error.js';

describe('optionEnvName', () => {
  it.each([
    ['version', 'VERSION'],
    ['install-tools', 'INSTALL_TOOLS'],
    ['installZsh', 'INSTALLZSH'],
    ['with.dots and spaces', 'WITH_DOTS_AND_SPACES'],
    ['3d', '_D'],
    ['123_456abc', '_ABC'],
    ['_private', '_PRIVATE'],
    ['ünicode', '_NICODE'],
  ])('%s → %s', (name, env) => {
    expect(optionEnvName(name)).toBe(env);
  });
});

const METADATA = parseFeatureMetadata(
  JSON.stringify({
    id: 'x',
    options: {
      version: { type: 'string', enum: ['latest', '1.0'], default: 'latest' },
      'install-tools': { type: 'boolean', default: false },
      nodefault: { type: 'string' },
    },
  }),
  'feature `x`',
);

describe('featureOptionValues', () => {
  it('fills in defaults, lets given values win, and leaves options without default unset', () => {
    expect(featureOptionValues(METADATA, {}, 'x')).toEqual({ values: { version: 'latest', 'install-tools': false }, warnings: [] });
    expect(featureOptionValues(METADATA, true, 'x').values).toEqual({ version: 'latest', 'install-tools': false });
    expect(featureOptionValues(METADATA, { 'install-tools': true, nodefault: 'v' }, 'x').values).toEqual({ version: 'latest', 'install-tools': true, nodefault: 'v' });
  });

  it('takes a plain string as the version option', () => {
    expect(featureOptionValues(METADATA, '1.0', 'x').values.version).toBe('1.0');
  });

  it('warns about unknown options and values outside an enum', () => {
    const { warnings } = featureOptionValues(METADATA, { versoin: '1', version: '9' }, 'feature `x`');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('unknown option `versoin`');
    expect(warnings[1]).toContain('`9`, not one of `latest`, `1.0`');
  });
});

describe('env files', () => {
  it('quotes values for sh', () => {
    expect(featureEnvLines({ version: 'it\'s "1" $HOME', 'install-tools': true })).toEqual([`VERSION='it'\\''s "1" $HOME'`, `INSTALL_TOOLS='true'`]);
  });

  it('writes the built-in users and their homes', () => {
    expect(builtinEnvLines({ containerUser: 'root', remoteUser: 'vscode', containerUserHome: '/root', remoteUserHome: '/home/vscode' })).toEqual([
      `_CONTAINER_USER='root'`,
      `_REMOTE_USER='vscode'`,
      `_CONTAINER_USER_HOME='/root'`,
      `_REMOTE_USER_HOME='/home/vscode'`,
    ]);
  });

  it('finds homes in passwd by name or uid', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/sh\nvscode:x:1000:1000::/home/vscode:/bin/bash\n';
    expect(homeFromPasswd(passwd, 'vscode')).toBe('/home/vscode');
    expect(homeFromPasswd(passwd, '1000')).toBe('/home/vscode');
    expect(homeFromPasswd(passwd, '0:0')).toBe('/root');
    expect(homeFromPasswd(passwd, 'nobody')).toBeUndefined();
  });
});

describe('parseFeatureMetadata', () => {
  it('accepts comments and names the broken field', () => {
    expect(parseFeatureMetadata('{ // c\n "id": "a", }', 'feature `a`').id).toBe('a');
    expect(thrownDevenvError(() => parseFeatureMetadata('{"id": "a", "capAdd": "X"}', 'feature `a`')).message).toContain('`capAdd` must be an array of strings');
    expect(thrownDevenvError(() => parseFeatureMetadata('{"id": "a", "options": {"v": {"type": "number"}}}', 'feature `a`')).message).toContain('options.v');
    expect(thrownDevenvError(() => parseFeatureMetadata('{"version": "1"}', 'feature `a`')).message).toContain('needs an `id`');
    expect(thrownDevenvError(() => parseFeatureMetadata('{', 'feature `a`')).code).toBe('FEATURE_INVALID');
  });
});
