import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import {
  isLoopbackHost,
  loadRegistriesConfig,
  parseRegistriesConfig,
  registriesConfigPath,
  registryEndpoints,
} from '../../../../src/image/registry/registries-config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof DevenvError ? error.code : 'not a DevenvError';
  }
  return undefined;
}

describe('registriesConfigPath', () => {
  it('honours the override, then root, then XDG', () => {
    expect(registriesConfigPath({ DEVENV_REGISTRIES_CONF: '/x.json' }, 1000)).toBe('/x.json');
    expect(registriesConfigPath({}, 0)).toBe('/etc/devenv/registries.json');
    expect(registriesConfigPath({ XDG_CONFIG_HOME: '/cfg' }, 1000)).toBe('/cfg/devenv/registries.json');
    expect(registriesConfigPath({ HOME: '/home/u' }, 1000)).toBe('/home/u/.config/devenv/registries.json');
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3:5000', true],
    ['localhost:5000', true],
    ['LOCALHOST', true],
    ['[::1]:5000', true],
    ['::1', true],
    ['128.0.0.1', false],
    ['localhost.example.com', false],
    ['10.0.0.1:5000', false],
    ['[::2]', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('parseRegistriesConfig', () => {
  it('reads mirrors and insecure flags, normalising names', () => {
    const config = parseRegistriesConfig(
      JSON.stringify({
        registries: {
          'index.docker.io': { mirrors: ['https://mirror.internal/', 'mirror2.internal:5000/prefix'] },
          'reg.lan:5000': { insecure: true, mirrors: ['http://reg-mirror.lan'] },
          'loop.example': { mirrors: ['http://127.0.0.1:6000'] },
        },
      }),
      'r.json',
    );
    expect(config.registries['docker.io']).toEqual({ insecure: false, mirrors: ['https://mirror.internal', 'https://mirror2.internal:5000/prefix'] });
    expect(config.registries['reg.lan:5000']).toEqual({ insecure: true, mirrors: ['http://reg-mirror.lan'] });
    expect(config.registries['loop.example']?.mirrors).toEqual(['http://127.0.0.1:6000']);
  });

  it('refuses plain-HTTP mirrors of secure registries', () => {
    expect(() => parseRegistriesConfig('{"registries":{"docker.io":{"mirrors":["http://mirror.internal"]}}}', 'r.json')).toThrow(
      /mirror `http:\/\/mirror.internal` of docker.io uses plain HTTP/,
    );
    // …unless the mirror host itself is marked insecure
    expect(
      parseRegistriesConfig('{"registries":{"docker.io":{"mirrors":["http://m.lan"]},"m.lan":{"insecure":true}}}', 'r.json').registries['docker.io']
        ?.mirrors,
    ).toEqual(['http://m.lan']);
  });

  it('names what is wrong', () => {
    expect(code(() => parseRegistriesConfig('{', 'r.json'))).toBe('CONFIG_PARSE');
    expect(code(() => parseRegistriesConfig('[]', 'r.json'))).toBe('CONFIG_INVALID');
    expect(code(() => parseRegistriesConfig('{"registries":[]}', 'r.json'))).toBe('CONFIG_INVALID');
    expect(() => parseRegistriesConfig('{"registries":{"a.io":{"mirrors":"x"}}}', 'r.json')).toThrow(/registries.a.io.mirrors must be a list/);
    expect(() => parseRegistriesConfig('{"registries":{"a.io":{"insecure":"yes"}}}', 'r.json')).toThrow(/insecure must be true or false/);
    expect(() => parseRegistriesConfig('{"registries":{"a.io":{"mirrors":["ftp://x"]}}}', 'r.json')).toThrow(/must be http\(s\)/);
    expect(parseRegistriesConfig('{}', 'r.json')).toEqual({ registries: {} });
  });
});

describe('loadRegistriesConfig', () => {
  it('treats a missing file as empty and reads an existing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'devenv-regconf-'));
    dirs.push(dir);
    expect(loadRegistriesConfig({ path: join(dir, 'none.json') })).toEqual({ registries: {} });
    const path = join(dir, 'registries.json');
    writeFileSync(path, '{"registries":{"ghcr.io":{"insecure":true}}}');
    expect(loadRegistriesConfig({ env: { DEVENV_REGISTRIES_CONF: path }, uid: 1000 }).registries['ghcr.io']?.insecure).toBe(true);
  });
});

describe('registryEndpoints', () => {
  const config = parseRegistriesConfig(
    JSON.stringify({ registries: { 'docker.io': { mirrors: ['https://mirror.internal'] }, 'reg.lan': { insecure: true } } }),
    'r.json',
  );

  it('puts mirrors first for pulls and only the registry for pushes', () => {
    expect(registryEndpoints('docker.io', config, 'pull').map((e) => [e.baseUrl, e.mirror, e.credentialsName])).toEqual([
      ['https://mirror.internal', true, 'mirror.internal'],
      ['https://registry-1.docker.io', false, 'docker.io'],
    ]);
    expect(registryEndpoints('docker.io', config, 'push').map((e) => e.baseUrl)).toEqual(['https://registry-1.docker.io']);
  });

  it('allows the plain-HTTP fallback only for loopback and insecure registries', () => {
    expect(registryEndpoints('127.0.0.1:5000', config, 'pull')[0]).toMatchObject({ baseUrl: 'https://127.0.0.1:5000', allowHttpFallback: true });
    expect(registryEndpoints('reg.lan', config, 'pull')[0]?.allowHttpFallback).toBe(true);
    expect(registryEndpoints('ghcr.io', config, 'pull')[0]?.allowHttpFallback).toBe(false);
  });
});
