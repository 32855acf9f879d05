import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { staticCredentialStore } from '../../../../src/image/registry/credentials.js';
import { EMPTY_REGISTRIES_CONFIG } from '../../../../src/image/registry/registries-config.js';
import { createRegistryClient, type RegistryClient } from '../../../../src/image/registry/registry-client.js';
import { featureCachePaths } from '../../../../src/services/features/feature-cache.js';
import { prepareFeaturesBuild, readLockfile, resolveProjectFeatures } from '../../../../src/services/features/prepare-features-build.js';
import { featureFetchDeps } from '../../../../src/services/features/prepare-features-build.js';
import { resolveFeatures } from '../../../../src/services/features/resolve-features.js';
import { thrownDevenvError } from '../../../support/devenv-error.js';
import { publishFeature, tarFolder } from '../../../support/feature-artifact.js';
import { startFakeRegistry, type FakeRegistry } from '../../../support/fake-registry.js';
import { context, FEATURE_FIXTURES, makeFeatureProject } from './features-harness.js';

const registries: FakeRegistry[] = [];
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
});

async function registry(): Promise<{ fake: FakeRegistry; client: RegistryClient }> {
  const fake = await startFakeRegistry();
  registries.push(fake);
  const client = createRegistryClient({ config: EMPTY_REGISTRIES_CONFIG, credentials: staticCredentialStore({}), retry: { maxAttempts: 1, sleep: async () => undefined } });
  return { fake, client };
}

async function rejection(promise: Promise<unknown>): Promise<import('../../../../src/errors.js').DevenvError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => thrownDevenvError(() => {
      throw error;
    }),
  );
}

describe('resolveFeatures with local Features', () => {
  it('pulls in dependsOn with its options and orders installsAfter after its target', async () => {
    const ctx = context();
    const { configFile } = makeFeatureProject(
      { image: 'x', features: { './features/installs-after': {}, './features/depends-on': {}, './features/options': { version: '2.0', 'install-tools': true } } },
      ['installs-after', 'depends-on', 'options', 'base'],
    );
    const resolved = await resolveFeatures({ configFile, config: JSON.parse(readFileSync(configFile, 'utf8')) }, featureFetchDeps(ctx));
    expect(resolved.ordered.map((f) => f.source.written)).toEqual(['./features/base', './features/options', './features/depends-on', './features/installs-after']);
    const base = resolved.ordered[0];
    expect(base?.origin).toBe('dependsOn');
    expect(base?.values).toEqual({ greeting: 'from-dependency' });
    expect(resolved.ordered[1]?.values).toEqual({ version: '2.0', 'install-tools': true, '3d': '' });
    expect(resolved.ordered.every((f) => /^sha256:[0-9a-f]{64}$/.test(f.digest))).toBe(true);
  });

  it('installs a Feature twice when given with different options, once when the same', async () => {
    const ctx = context();
    const { configFile } = makeFeatureProject({ image: 'x', features: { './features/depends-on': {}, './features/base': { greeting: 'from-dependency' } } }, ['depends-on', 'base']);
    const resolved = await resolveFeatures({ configFile, config: JSON.parse(readFileSync(configFile, 'utf8')) }, featureFetchDeps(ctx));
    expect(resolved.ordered.map((f) => f.source.written)).toEqual(['./features/base', './features/depends-on']);
    const { configFile: other } = makeFeatureProject({ image: 'x', features: { './features/depends-on': {}, './features/base': {} } }, ['depends-on', 'base']);
    const two = await resolveFeatures({ configFile: other, config: JSON.parse(readFileSync(other, 'utf8')) }, featureFetchDeps(ctx));
    expect(two.ordered.map((f) => f.values.greeting)).toEqual(['from-dependency', 'hello', undefined]);
  });

  it('reports a cycle naming both Features', async () => {
    const { configFile } = makeFeatureProject({ image: 'x', features: { './features/cycle-a': {} } }, ['cycle-a', 'cycle-b']);
    const error = await rejection(resolveFeatures({ configFile, config: JSON.parse(readFileSync(configFile, 'utf8')) }, featureFetchDeps(context())));
    expect(error.code).toBe('FEATURE_CYCLE');
    expect(error.message).toContain('`./features/cycle-a` → `./features/cycle-b` → `./features/cycle-a`');
  });

  it('applies overrideFeatureInstallOrder', async () => {
    const { configFile } = makeFeatureProject(
      { image: 'x', features: { './features/options': {}, './features/base': {} }, overrideFeatureInstallOrder: ['./features/options'] },
      ['options', 'base'],
    );
    const resolved = await resolveFeatures({ configFile, config: JSON.parse(readFileSync(configFile, 'utf8')) }, featureFetchDeps(context()));
    expect(resolved.ordered.map((f) => f.metadata.id)).toEqual(['options', 'base']);
  });

  it('says which local Feature is missing', async () => {
    const { configFile } = makeFeatureProject({ image: 'x', features: { './features/nope': {} } });
    const error = await rejection(resolveFeatures({ configFile, config: { features: { './features/nope': {} } } }, featureFetchDeps(context())));
    expect(error.code).toBe('FEATURE_NOT_FOUND');
    expect(error.message).toContain('feature `./features/nope`');
  });
});

describe('OCI Features', () => {
  it('resolves a tag to a digest, caches the content, and works offline afterwards', async () => {
    const { fake, client } = await registry();
    const ref = `${fake.host}/features/options:1`;
    const published = await publishFeature(client, join(FEATURE_FIXTURES, 'options'), ref);
    const ctx = context();
    const { configFile } = makeFeatureProject({ image: 'x', features: { [ref]: { version: '1.0' } } });
    const config = JSON.parse(readFileSync(configFile, 'utf8'));

    const first = await resolveProjectFeatures(ctx, { configFile, config, deps: { registry: client } });
    const feature = first.resolved.ordered[0];
    expect(feature?.digest).toBe(published.manifestDigest);
    expect(feature?.dir).toBe(join(featureCachePaths(ctx.root).content, published.manifestDigest.slice(7)));
    expect(existsSync(join(feature?.dir ?? '', 'install.sh'))).toBe(true);
    expect(first.lockfile.written).toBe(true);
    expect(readLockfile(configFile)?.features[ref]).toEqual({ version: '1.2.0', resolved: `${fake.host}/features/options@${published.manifestDigest}`, integrity: published.manifestDigest });

    // the registry is gone: the lockfile's pin and the cache are enough
    await fake.close();
    const again = await resolveProjectFeatures(ctx, { configFile, config, deps: { registry: client }, lockfile: { frozen: true } });
    expect(again.resolved.ordered[0]?.digest).toBe(published.manifestDigest);

    // without a lockfile: the tag's last digest from the cache, with a warning
    rmSync(join(configFile, '..', 'devcontainer-lock.json'));
    const warnings: string[] = [];
    const offline = await resolveProjectFeatures(ctx, { configFile, config, deps: { registry: client }, reporter: { warn: (m) => warnings.push(m) }, lockfile: { write: false } });
    expect(offline.resolved.ordered[0]?.digest).toBe(published.manifestDigest);
    expect(warnings.join('\n')).toContain('cannot be reached');
  });

  it('fetches the locked digest, not what the tag points to now', async () => {
    const { fake, client } = await registry();
    const ref = `${fake.host}/features/base:1`;
    const old = await publishFeature(client, join(FEATURE_FIXTURES, 'base'), ref);
    const ctx = context();
    const { configFile } = makeFeatureProject({ image: 'x', features: { [ref]: {} } });
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    await resolveProjectFeatures(ctx, { configFile, config, deps: { registry: client } });
    await publishFeature(client, join(FEATURE_FIXTURES, 'options'), ref); // the tag moves
    const pinned = await resolveProjectFeatures(context(), { configFile, config, deps: { registry: client }, lockfile: { frozen: true } });
    expect(pinned.resolved.ordered[0]?.digest).toBe(old.manifestDigest);
    expect(pinned.resolved.ordered[0]?.metadata.id).toBe('base');
  });

  it('refuses drift under a frozen lockfile, naming the Feature', async () => {
    const { fake, client } = await registry();
    const one = `${fake.host}/features/base:1`;
    const two = `${fake.host}/features/base:2`;
    await publishFeature(client, join(FEATURE_FIXTURES, 'base'), one);
    await publishFeature(client, join(FEATURE_FIXTURES, 'options'), two);
    const ctx = context();
    const { configFile } = makeFeatureProject({ image: 'x', features: { [one]: {} } });
    await resolveProjectFeatures(ctx, { configFile, config: JSON.parse(readFileSync(configFile, 'utf8')), deps: { registry: client } });

    const added = { image: 'x', features: { [one]: {}, [two]: {} } };
    const error = await rejection(resolveProjectFeatures(ctx, { configFile, config: added, deps: { registry: client }, lockfile: { frozen: true } }));
    expect(error.code).toBe('LOCKFILE_DRIFT');
    expect(error.message).toContain(`does not lock \`${two}\``);

    await resolveProjectFeatures(ctx, { configFile, config: added, deps: { registry: client } }); // unfrozen: updates the lockfile
    expect(Object.keys(readLockfile(configFile)?.features ?? {})).toEqual([one, two]);
    const removed = { image: 'x', features: { [two]: {} } };
    const gone = await rejection(resolveProjectFeatures(ctx, { configFile, config: removed, deps: { registry: client }, lockfile: { frozen: true } }));
    expect(gone.message).toContain(`\`${one}\` is in the lockfile but no longer used`);
  });

  it('says what is wrong with an artifact that is not a Feature', async () => {
    const { fake, client } = await registry();
    fake.addImage('features/image', '1');
    const { configFile } = makeFeatureProject({ image: 'x' });
    const error = await rejection(resolveFeatures({ configFile, config: { features: { [`${fake.host}/features/image:1`]: {} } } }, featureFetchDeps(context(), {}, { registry: client })));
    expect(error.code).toBe('FEATURE_INVALID');
  });
});

describe('tarball Features', () => {
  it('downloads, checks the lockfile integrity, and caches', async () => {
    const featureArtifactTar = await tarFolder(join(FEATURE_FIXTURES, 'base'));
    const tgz = await import('node:zlib').then((z) => z.gzipSync(featureArtifactTar));
    let calls = 0;
    const fakeFetch = (async () => {
      calls += 1;
      return new Response(tgz, { status: 200 });
    }) as unknown as typeof fetch;
    const url = 'https://example.com/releases/devcontainer-feature-base.tgz';
    const ctx = context();
    const { configFile } = makeFeatureProject({ image: 'x', features: { [url]: {} } });
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    const first = await resolveProjectFeatures(ctx, { configFile, config, deps: { fetch: fakeFetch } });
    expect(first.resolved.ordered[0]?.metadata.id).toBe('base');
    expect(readLockfile(configFile)?.features[url]?.resolved).toBe(url);
    await resolveProjectFeatures(ctx, { configFile, config, deps: { fetch: fakeFetch }, lockfile: { frozen: true } });
    expect(calls).toBe(1); // the second time from the cache

    const tampered = (async () => new Response(await import('node:zlib').then((z) => z.gzipSync(Buffer.concat([featureArtifactTar, Buffer.alloc(1024)]))), { status: 200 })) as unknown as typeof fetch;
    const error = await rejection(resolveProjectFeatures(context(), { configFile, config, deps: { fetch: tampered }, lockfile: { frozen: true } }));
    expect(error.code).toBe('DIGEST_MISMATCH');
    expect(error.message).toContain(url);
  });
});

describe('prepareFeaturesBuild', () => {
  it('writes a build context and a Dockerfile for the builder', async () => {
    const ctx = context();
    const { configFile } = makeFeatureProject({ image: 'x', features: { './features/env-hook': {}, './features/options': { version: '1.0' } } }, ['env-hook', 'options']);
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    const passwd = 'root:x:0:0:root:/root:/bin/sh\n';
    const label = JSON.stringify([{ remoteUser: 'root', postStartCommand: 'echo base' }]);
    const build = await prepareFeaturesBuild(ctx, { configFile, config, baseImage: { reference: 'busybox@sha256:abc', config: { rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: { 'devcontainer.metadata': label } } } }, passwd });
    if (!build) throw new Error('expected a build');
    expect(build.tag).toMatch(/^localhost\/devenv-features:[0-9a-f]{20}$/);
    expect(build.users).toEqual({ containerUser: 'root', remoteUser: 'root', containerUserHome: '/root', remoteUserHome: '/root' });
    expect(build.metadataEntries).toEqual([
      { remoteUser: 'root', postStartCommand: 'echo base' },
      { id: './features/env-hook', postCreateCommand: 'echo feature-post-create > /tmp/feature-post-create', capAdd: ['SYS_PTRACE'] },
      { id: './features/options' },
    ]);
    expect(build.dockerfileText).toContain('FROM busybox@sha256:abc');
    expect(build.dockerfileText).toContain('ENV HELLO_FEATURE="hello from a feature"');
    expect(readFileSync(join(build.contextDir, 'devcontainer-features.builtin.env'), 'utf8')).toContain("_REMOTE_USER_HOME='/root'");
    expect(readFileSync(join(build.contextDir, '02-options', 'devcontainer-features.env'), 'utf8')).toBe("VERSION='1.0'\nINSTALL_TOOLS='false'\n_D=''\n");
    expect(existsSync(join(build.contextDir, '01-env-hook', 'install.sh'))).toBe(true);
    // local Features only: nothing to lock, so no lockfile is written
    expect(build.lockfile.written).toBe(false);
    // same input → same tag and context
    const again = await prepareFeaturesBuild(ctx, { configFile, config, baseImage: { reference: 'busybox@sha256:abc', config: { rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: { 'devcontainer.metadata': label } } } }, passwd });
    expect(again?.tag).toBe(build.tag);
    expect(again?.contextDir).toBe(build.contextDir);
  });

  it('returns undefined when there are no Features', async () => {
    const { configFile } = makeFeatureProject({ image: 'x' });
    expect(await prepareFeaturesBuild(context(), { configFile, config: { image: 'x' }, baseImage: { reference: 'x', config: { rootfs: { type: 'layers', diff_ids: [] } } } })).toBeUndefined();
  });
});
