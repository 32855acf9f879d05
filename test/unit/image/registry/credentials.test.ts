import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import {
  createCredentialStore,
  devenvAuthFilePath,
  normalizeRegistryServer,
  removeCredentials,
  runCredentialHelper,
  saveCredentials,
  staticCredentialStore,
} from '../../../../src/image/registry/credentials.js';

let home: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'devenv-creds-'));
  mkdirSync(join(home, 'bin'));
  env = { HOME: home, PATH: `${join(home, 'bin')}:/usr/bin:/bin`, XDG_CONFIG_HOME: join(home, 'config'), XDG_RUNTIME_DIR: join(home, 'run') };
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

const basic = (user: string, password: string): string => Buffer.from(`${user}:${password}`).toString('base64');

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
}

/** A docker-credential-<name> that records its stdin and answers from a table, or misbehaves. */
function writeHelper(name: string, script: string): void {
  const path = join(home, 'bin', `docker-credential-${name}`);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
}

describe('normalizeRegistryServer', () => {
  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['https://GHCR.io', 'ghcr.io'],
    ['ghcr.io/', 'ghcr.io'],
    ['http://127.0.0.1:5000/v2/', '127.0.0.1:5000'],
    ['quay.io/org/repo', 'quay.io/org/repo'],
  ])('%s → %s', (server, expected) => {
    expect(normalizeRegistryServer(server)).toBe(expected);
  });
});

describe('createCredentialStore', () => {
  it('reads devenv auth.json first, then containers auth.json, then docker config', async () => {
    writeJson(devenvAuthFilePath(env), { auths: { 'ghcr.io': { auth: basic('devenv-user', 'p1') } } });
    writeJson(join(home, 'run', 'containers', 'auth.json'), {
      auths: { 'ghcr.io': { auth: basic('podman-user', 'p2') }, 'quay.io': { auth: basic('podman-quay', 'p3') } },
    });
    writeJson(join(home, '.docker', 'config.json'), {
      auths: { 'https://index.docker.io/v1/': { auth: basic('hub', 'p4:with:colons') }, 'quay.io': { auth: basic('docker-quay', 'x') } },
    });
    const store = createCredentialStore({ env });
    expect(await store.get('ghcr.io')).toEqual({ username: 'devenv-user', password: 'p1' });
    expect(await store.get('quay.io')).toEqual({ username: 'podman-quay', password: 'p3' });
    expect(await store.get('docker.io')).toEqual({ username: 'hub', password: 'p4:with:colons' });
    expect(await store.get('example.com')).toBeUndefined();
  });

  it('prefers repository-scoped entries, most specific first', async () => {
    writeJson(devenvAuthFilePath(env), {
      auths: {
        'quay.io': { auth: basic('all', 'a') },
        'quay.io/org': { auth: basic('org', 'b') },
        'quay.io/org/app': { auth: basic('app', 'c') },
      },
    });
    const store = createCredentialStore({ env });
    expect((await store.get('quay.io', 'org/app'))?.username).toBe('app');
    expect((await store.get('quay.io', 'org/other'))?.username).toBe('org');
    expect((await store.get('quay.io', 'else/x'))?.username).toBe('all');
  });

  it('reads username/password and identitytoken entries; honours DOCKER_CONFIG', async () => {
    writeJson(join(home, 'dc', 'config.json'), {
      auths: { 'a.io': { username: 'u', password: 'p' }, 'b.io': { identitytoken: 'refresh-me' }, 'c.io': {} },
    });
    const store = createCredentialStore({ env: { ...env, DOCKER_CONFIG: join(home, 'dc') } });
    expect(await store.get('a.io')).toEqual({ username: 'u', password: 'p' });
    expect(await store.get('b.io')).toEqual({ username: '', password: '', identityToken: 'refresh-me' });
    expect(await store.get('c.io')).toBeUndefined();
  });

  it('asks credHelpers and credsStore with the server on stdin', async () => {
    writeHelper(
      'fake',
      `read server; echo "$server" >> "${home}/asked"
case "$server" in
  https://index.docker.io/v1/) echo '{"ServerURL":"x","Username":"hubber","Secret":"s1"}' ;;
  gcr.io) echo '{"Username":"<token>","Secret":"id-token"}' ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac`,
    );
    writeJson(join(home, '.docker', 'config.json'), {
      auths: { 'https://index.docker.io/v1/': {}, 'other.io': { auth: basic('file', 'f') } },
      credHelpers: { 'gcr.io': 'fake' },
      credsStore: 'fake',
    });
    const store = createCredentialStore({ env });
    expect(await store.get('docker.io')).toEqual({ username: 'hubber', password: 's1' });
    expect(await store.get('gcr.io')).toEqual({ username: '', password: '', identityToken: 'id-token' });
    // not in the store: the file's own entry is used
    expect(await store.get('other.io')).toEqual({ username: 'file', password: 'f' });
    expect(await store.get('none.io')).toBeUndefined();
    expect(readFileSync(join(home, 'asked'), 'utf8').split('\n').filter(Boolean)).toEqual([
      'https://index.docker.io/v1/',
      'gcr.io',
      'other.io',
      'none.io',
    ]);
  });

  it('warns about a missing or hanging helper and goes on without credentials', async () => {
    writeHelper('slow', 'sleep 5');
    const warnings: string[] = [];
    writeJson(join(home, '.docker', 'config.json'), { credHelpers: { 'slow.io': 'slow', 'gone.io': 'gone' } });
    const store = createCredentialStore({ env, helperTimeoutMs: 200, onWarning: (m) => warnings.push(m) });
    const started = Date.now();
    expect(await store.get('slow.io')).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await store.get('gone.io')).toBeUndefined();
    expect(warnings).toEqual([
      'credential helper docker-credential-slow did not answer within 200 ms; continuing without credentials for slow.io',
      'credential helper docker-credential-gone is not installed; continuing without credentials for gone.io',
    ]);
  });

  it('refuses helper names that could be paths', async () => {
    const warnings: string[] = [];
    expect(await runCredentialHelper('../evil', 'x.io', { env, onWarning: (m) => warnings.push(m) })).toBeUndefined();
    expect(warnings[0]).toMatch(/not valid/);
  });

  it('reports a corrupt auth file by name', async () => {
    mkdirSync(join(home, 'config', 'devenv'), { recursive: true });
    writeFileSync(devenvAuthFilePath(env), '{not json');
    const error = await createCredentialStore({ env })
      .get('ghcr.io')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DevenvError);
    expect((error as DevenvError).code).toBe('CONFIG_PARSE');
    expect((error as DevenvError).message).toContain(devenvAuthFilePath(env));
  });
});

describe('saveCredentials / removeCredentials', () => {
  it('writes devenv auth.json 0600 in a 0700 directory and removes entries', async () => {
    const path = saveCredentials('https://index.docker.io/v1/', { username: 'me', password: 'secret' }, { env });
    expect(path).toBe(join(home, 'config', 'devenv', 'auth.json'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'config', 'devenv')).mode & 0o777).toBe(0o700);
    saveCredentials('127.0.0.1:5000', { username: 'local', password: 'pw' }, { env });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      auths: { 'docker.io': { auth: basic('me', 'secret') }, '127.0.0.1:5000': { auth: basic('local', 'pw') } },
    });
    expect(await createCredentialStore({ env }).get('docker.io')).toEqual({ username: 'me', password: 'secret' });

    expect(removeCredentials('docker.io', { env })).toBe(true);
    expect(removeCredentials('docker.io', { env })).toBe(false);
    expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')).auths as object)).toEqual(['127.0.0.1:5000']);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('keeps other keys of the file and removes nothing when there is no file', () => {
    expect(removeCredentials('ghcr.io', { env })).toBe(false);
    writeJson(devenvAuthFilePath(env), { auths: {}, other: 1 });
    saveCredentials('ghcr.io', { username: 'a', password: 'b' }, { env });
    expect(JSON.parse(readFileSync(devenvAuthFilePath(env), 'utf8')).other).toBe(1);
  });
});

describe('staticCredentialStore', () => {
  it('normalises its keys', async () => {
    const store = staticCredentialStore({ 'https://index.docker.io/v1/': { username: 'u', password: 'p' } });
    expect(await store.get('docker.io')).toEqual({ username: 'u', password: 'p' });
  });
});
