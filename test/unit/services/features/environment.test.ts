import { readFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { lockfilePath, parseLockfile } from '../../../../src/devcontainer/features/lockfile.js';
import { staticCredentialStore } from '../../../../src/image/registry/credentials.js';
import { EMPTY_REGISTRIES_CONFIG } from '../../../../src/image/registry/registries-config.js';
import { createRegistryClient } from '../../../../src/image/registry/registry-client.js';
import { fingerprintProject, lockEnvironment } from '../../../../src/services/features/environment.js';
import { join } from 'node:path';
import { publishFeature } from '../../../support/feature-artifact.js';
import { startFakeRegistry, type FakeRegistry } from '../../../support/fake-registry.js';
import { context, FEATURE_FIXTURES, makeFeatureProject, tempDir } from './features-harness.js';

const registries: FakeRegistry[] = [];
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
});

async function setup() {
  const fake = await startFakeRegistry();
  registries.push(fake);
  const client = createRegistryClient({ config: EMPTY_REGISTRIES_CONFIG, credentials: staticCredentialStore({}), retry: { maxAttempts: 1, sleep: async () => undefined } });
  const image = fake.addImage('base', 'latest', { layers: ['layer'] });
  const feature = await publishFeature(client, join(FEATURE_FIXTURES, 'base'), `${fake.host}/features/base:1`);
  const config = {
    image: `${fake.host}/base:latest`,
    features: { [`${fake.host}/features/base:1`]: { greeting: 'hi' }, './features/env-hook': {} },
    // host paths and ids: must not reach the fingerprint
    mounts: ['source=${localWorkspaceFolder}/cache,target=/cache,type=bind'],
    containerEnv: { PROJECT_ID: '${devcontainerId}', HOME_ON_HOST: '${localEnv:HOME}' },
    postCreateCommand: 'echo ${containerWorkspaceFolder}',
  };
  return { fake, client, image, feature, config };
}

describe('fingerprint', () => {
  it('is the same for the same project in two stores and two folders', async () => {
    const { client, config } = await setup();
    const a = makeFeatureProject(config, ['env-hook'], tempDir('devenv-one-'));
    const b = makeFeatureProject(config, ['env-hook'], join(tempDir('devenv-two-'), 'deeper'));
    const deps = { registry: client, imageRegistry: client };
    const one = await fingerprintProject(context(), { workspaceFolder: a.folder, hostEnv: { HOME: '/home/alice' }, deps });
    const two = await fingerprintProject(context(), { workspaceFolder: b.folder, hostEnv: { HOME: '/home/bob' }, deps });
    expect(one.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(two.fingerprint).toBe(one.fingerprint);
    expect(JSON.stringify(one.document)).not.toContain(a.folder);
  });

  it('changes when an option, a local Feature or the config changes', async () => {
    const { client, config } = await setup();
    const deps = { registry: client, imageRegistry: client };
    const fp = async (c: object, edit?: (folder: string) => void): Promise<string> => {
      const p = makeFeatureProject(c, ['env-hook']);
      edit?.(p.folder);
      return (await fingerprintProject(context(), { workspaceFolder: p.folder, hostEnv: {}, deps })).fingerprint;
    };
    const base = await fp(config);
    expect(await fp({ ...config, features: { ...config.features, [Object.keys(config.features)[0] as string]: { greeting: 'other' } } })).not.toBe(base);
    expect(await fp({ ...config, remoteUser: 'someone' })).not.toBe(base);
    const { appendFileSync } = await import('node:fs');
    expect(await fp(config, (folder) => appendFileSync(join(folder, '.devcontainer/features/env-hook/install.sh'), '\necho changed\n'))).not.toBe(base);
  });
});

describe('lockEnvironment', () => {
  it('pins Features and the base image, and the fingerprint then needs no network', async () => {
    const { fake, client, image, feature, config } = await setup();
    const p = makeFeatureProject(config, ['env-hook']);
    const ctx = context();
    const deps = { registry: client, imageRegistry: client };
    const locked = await lockEnvironment(ctx, { workspaceFolder: p.folder, hostEnv: {}, deps });
    expect(locked.written).toBe(true);
    const lockfile = parseLockfile(readFileSync(lockfilePath(p.configFile), 'utf8'), 'l');
    expect(lockfile.features).toEqual({
      [`${fake.host}/features/base:1`]: { version: '1.0.0', resolved: `${fake.host}/features/base@${feature.manifestDigest}`, integrity: feature.manifestDigest },
    });
    expect(lockfile.devenv?.baseImage).toEqual({ reference: `${fake.host}/base:latest`, resolved: `${fake.host}/base@${image.manifest.digest}` });
    expect(lockfile.devenv?.fingerprint).toBe(locked.fingerprint);
    expect((await lockEnvironment(ctx, { workspaceFolder: p.folder, hostEnv: {}, deps })).written).toBe(false);

    await fake.close(); // the pins and the Feature cache are enough
    const again = await fingerprintProject(ctx, { workspaceFolder: p.folder, hostEnv: {}, deps });
    expect(again.fingerprint).toBe(locked.fingerprint);
  });
});
