import { describe, expect, it } from 'vitest';

import {
  substituteContainerEnv,
  substituteDevcontainerId,
  substituteLocal,
  type LocalSubstitutionContext,
} from '../../../../src/devcontainer/config/substitute.js';
import { thrown } from './temp-dirs.js';

const context: LocalSubstitutionContext = {
  env: { HOME: '/home/me', EMPTY: '', TRICKY: 'a b "c" \'d\' $HOME \\n ${localEnv:HOME}' },
  localWorkspaceFolder: '/home/me/src/app',
  containerWorkspaceFolder: '/workspaces/app',
};

const local = (text: string, ctx: LocalSubstitutionContext = context): string => substituteLocal(text, ctx);

describe('substituteLocal', () => {
  it.each([
    ['${localEnv:HOME}', '/home/me'],
    ['${env:HOME}', '/home/me'],
    ['x${localEnv:HOME}y${env:HOME}z', 'x/home/mey/home/mez'],
    ['${localEnv:MISSING}', ''],
    ['${localEnv:MISSING:fallback}', 'fallback'],
    ['${localEnv:HOME:fallback}', '/home/me'],
    ['${localEnv:EMPTY:fallback}', ''], // set but empty is still set
    ['${localEnv:MISSING:a:b:c}', 'a'], // the CLI keeps only the first `:` part of a default
    ['${localEnv:MISSING:}', ''],
    ['${localWorkspaceFolder}', '/home/me/src/app'],
    ['${localWorkspaceFolderBasename}', 'app'],
    ['${containerWorkspaceFolder}/x', '/workspaces/app/x'],
    ['${containerWorkspaceFolderBasename}', 'app'],
  ])('%s → %s', (text, expected) => {
    expect(local(text)).toBe(expected);
  });

  it('leaves unknown and later variables as written', () => {
    for (const text of ['${unknown}', '${containerEnv:PATH}', '${devcontainerId}', '${localenv:HOME}', '$HOME', '${', '${localEnv:HOME']) {
      expect(local(text)).toBe(text);
    }
  });

  it('leaves folder variables as written when the folder is unknown', () => {
    expect(local('${localWorkspaceFolder} ${containerWorkspaceFolderBasename}', { env: {} })).toBe(
      '${localWorkspaceFolder} ${containerWorkspaceFolderBasename}',
    );
  });

  it('passes values with spaces, quotes, $ and backslashes through unchanged and does not rescan them', () => {
    expect(local('${localEnv:TRICKY}')).toBe('a b "c" \'d\' $HOME \\n ${localEnv:HOME}');
    expect(local('C:\\path with space\\$x "q"')).toBe('C:\\path with space\\$x "q"');
  });

  it('resolves local variables inside containerWorkspaceFolder first', () => {
    const ctx = { ...context, containerWorkspaceFolder: '/src/${localWorkspaceFolderBasename}' };
    expect(local('${containerWorkspaceFolder}:${containerWorkspaceFolderBasename}', ctx)).toBe('/src/app:app');
  });

  it('walks arrays and objects deeply, leaving keys, numbers, booleans and null alone', () => {
    const input = {
      '${localEnv:HOME}': ['${localEnv:HOME}', 1, true, null, { deep: '${localWorkspaceFolderBasename}' }],
      n: 5,
    };
    expect(substituteLocal(input, context)).toEqual({
      '${localEnv:HOME}': ['/home/me', 1, true, null, { deep: 'app' }],
      n: 5,
    });
    expect(input['${localEnv:HOME}'][0]).toBe('${localEnv:HOME}'); // the input is not modified
  });

  it('keeps a "__proto__" key a plain property', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "${localEnv:HOME}"}}') as object;
    const output = substituteLocal(input, context) as Record<string, unknown>;
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect(Object.keys(output)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('resolves ${devcontainerId} after the local pass when given', () => {
    const ctx = { ...context, devcontainerId: 'abc', env: { ID: '${devcontainerId}' } };
    expect(local('${devcontainerId}/${localEnv:ID}', ctx)).toBe('abc/abc');
    expect(substituteDevcontainerId({ a: ['${devcontainerId}', '${localEnv:X}'] }, 'xyz')).toEqual({ a: ['xyz', '${localEnv:X}'] });
  });

  it('rejects ${localEnv} without a variable name, naming the file', () => {
    const error = thrown(() => substituteLocal({ a: '${localEnv}' }, { ...context, configFile: 'x/devcontainer.json' }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe('`${localEnv}` in x/devcontainer.json cannot be resolved: no variable name');
  });
});

describe('substituteContainerEnv', () => {
  const env = { PATH: '/usr/bin:/bin', HOME: '/root' };

  it('resolves ${containerEnv:VAR[:default]} deeply and nothing else', () => {
    const input = {
      PATH: '${containerEnv:PATH}:/extra',
      list: ['${containerEnv:HOME}', '${containerEnv:NOPE:dflt}', '${containerEnv:NOPE}', '${localEnv:HOME}', 7],
      unset: null,
    };
    expect(substituteContainerEnv(input, env)).toEqual({
      PATH: '/usr/bin:/bin:/extra',
      list: ['/root', 'dflt', '', '${localEnv:HOME}', 7],
      unset: null,
    });
    expect(substituteContainerEnv('${containerEnv:HOME}', env)).toBe('/root');
  });

  it('rejects ${containerEnv} without a variable name', () => {
    expect(thrown(() => substituteContainerEnv('${containerEnv}', env)).code).toBe('CONFIG_INVALID');
  });
});
