/**
 * Pull through the real registry client against the in-process fake registry (HTTP on 127.0.0.1), and — when the
 * native unpacker is built and we are root — through the real unpacker too.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createRegistryClient } from '../../../../src/image/registry/registry-client.js';
import { hostPlatform } from '../../../../src/image/registry/platform.js';
import { EMPTY_REGISTRIES_CONFIG } from '../../../../src/image/registry/registries-config.js';
import { staticCredentialStore } from '../../../../src/image/registry/credentials.js';
import { openImageStore } from '../../../../src/image/store/image-store.js';
import { unpackLayer } from '../../../../src/image/unpack/unpack-layer.js';
import { nativeBuildDir } from '../../../../src/runtime/native.js';
import { pullImage } from '../../../../src/services/image/pull.js';
import { resolveImageForContainer } from '../../../../src/services/image/resolve-image.js';
import { startFakeRegistry, type FakeRegistry } from '../../../support/fake-registry.js';
import { buildImage, createFakeUnpack, OCI_MANIFEST, tempRoot, testContext, type TestImage } from './image-fixtures.js';

let root: string;
let cleanup: () => void;
let fake: FakeRegistry;

function publish(repository: string, tag: string, image: TestImage): void {
  for (const [, bytes] of image.blobs) fake.addBlob(bytes);
  fake.addManifest(repository, tag, image.manifest, OCI_MANIFEST);
}

function client() {
  return createRegistryClient({ config: EMPTY_REGISTRIES_CONFIG, credentials: staticCredentialStore({}), retry: { baseDelayMs: 1, maxDelayMs: 5 } });
}

beforeEach(async () => {
  ({ root, cleanup } = tempRoot());
  fake = await startFakeRegistry();
});
afterEach(async () => {
  await fake.close();
  cleanup();
});

describe('pull over HTTP with the registry client', () => {
  it('pulls an image and resumes a layer the server cut off half-way (Range)', async () => {
    const image = await buildImage([{ 'etc/hostname': 'box\n' }, { 'big/file': randomBytes(300_000).toString('base64') }], { gzip: true });
    publish('team/app', '1', image);
    const big = image.layers[1]!.descriptor.digest;
    fake.inject({ path: `/blobs/${big}`, kind: 'truncate' });
    const unpack = createFakeUnpack();
    const result = await pullImage(testContext(root, client(), unpack.unpack), `${fake.host}/team/app:1`);
    expect(result).toMatchObject({ reference: `${fake.host}/team/app:1`, manifestDigest: image.manifestDescriptor.digest });
    const blobGets = fake.requests.filter((r) => r.method === 'GET' && r.url.includes(big));
    expect(blobGets.length).toBeGreaterThanOrEqual(2);
    // The retry asks for the rest (unless the reset reached us before any byte did, which TCP allows).
    const ranges = blobGets.map((r) => r.headers.range).filter((r) => r !== undefined);
    for (const range of ranges) expect(range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(openImageStore(root).blobs.has(big)).toBe(true);
  });

  it('follows an index to the host platform and records the index digest', async () => {
    const image = await buildImage([{ a: '1' }], { gzip: true });
    publish('team/multi', 'x', image);
    const index = fake.addIndex('team/multi', 'latest', [
      { manifest: { ...image.manifestDescriptor, platform: hostPlatform() }, manifestBytes: image.manifest, config: image.configDescriptor, layers: image.layers.map((l) => l.descriptor) },
    ]);
    const result = await pullImage(testContext(root, client(), createFakeUnpack().unpack), `${fake.host}/team/multi`);
    expect(result).toMatchObject({ manifestDigest: image.manifestDescriptor.digest, indexDigest: index.digest });
    const resolved = await resolveImageForContainer(testContext(root, client(), createFakeUnpack().unpack), `${fake.host}/team/multi@${index.digest}`, { pull: 'never' });
    expect(resolved.manifestDigest).toBe(image.manifestDescriptor.digest);
  });

  const canUnpack = existsSync(join(nativeBuildDir(), 'devenv-runtime')) && process.getuid?.() === 0;
  it.skipIf(!canUnpack)('pulls through the native unpacker (root)', async () => {
    const image = await buildImage([{ 'etc/os-release': 'ID=test\n' }, { 'etc/motd': 'hello\n' }], { gzip: true });
    publish('team/native', '1', image);
    const ctx = { ...testContext(root, client(), unpackLayer), images: { registry: client(), unpack: unpackLayer, rootless: false } };
    const resolved = await resolveImageForContainer(ctx, `${fake.host}/team/native:1`, { pull: 'missing' });
    expect(readFileSync(join(resolved.lowerdirs[0]!, 'etc/motd'), 'utf8')).toBe('hello\n');
    expect(readFileSync(join(resolved.lowerdirs[1]!, 'etc/os-release'), 'utf8')).toBe('ID=test\n');
  });
});
