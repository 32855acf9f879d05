import { afterEach, describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { parseImageReference } from '../../../../src/image/reference.js';
import { staticCredentialStore, type RegistryCredentials } from '../../../../src/image/registry/credentials.js';
import { OCI_MANIFEST } from '../../../../src/image/registry/media-types.js';
import { EMPTY_REGISTRIES_CONFIG } from '../../../../src/image/registry/registries-config.js';
import { createRegistryClient, type RegistryClient } from '../../../../src/image/registry/registry-client.js';
import type { Descriptor } from '../../../../src/image/types.js';
import { startFakeRegistry, type FakeRegistry, type FakeRegistryOptions } from '../../../support/fake-registry.js';

const registries: FakeRegistry[] = [];
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
});

async function start(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const registry = await startFakeRegistry(options);
  registries.push(registry);
  return registry;
}

function clientFor(registry: FakeRegistry, credentials?: RegistryCredentials): RegistryClient {
  return createRegistryClient({
    config: EMPTY_REGISTRIES_CONFIG,
    credentials: staticCredentialStore(credentials ? { [registry.host]: credentials } : {}),
    platform: { os: 'linux', architecture: 'amd64' },
    retry: { sleep: async () => undefined },
  });
}

async function* chunks(bytes: Buffer, size = 1000): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

async function failure(promise: Promise<unknown>): Promise<DevenvError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DevenvError);
  return error as DevenvError;
}

function descriptorOf(source: FakeRegistry, digest: string, mediaType = 'application/octet-stream'): { descriptor: Descriptor; bytes: Buffer } {
  const bytes = source.getBlob(digest) as Buffer;
  return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
}

describe('push', () => {
  it('uploads a blob with POST, PATCH and PUT, and skips it the second time', async () => {
    const source = await start();
    const target = await start();
    const blob = source.addBlob(Buffer.alloc(5000, 7));
    const client = clientFor(target);
    const ref = parseImageReference(`${target.host}/team/app:1`);
    let opened = 0;
    const open = (): AsyncIterable<Uint8Array> => {
      opened += 1;
      return chunks(source.getBlob(blob.digest) as Buffer);
    };

    expect(await client.hasBlob(ref, blob.digest)).toBe(false);
    await client.pushBlob(ref, blob, open);
    expect(target.getBlob(blob.digest)?.equals(source.getBlob(blob.digest) as Buffer)).toBe(true);
    expect(await client.hasBlob(ref, blob.digest)).toBe(true);
    expect(target.requests.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url.replace(/[0-9a-f]{16}/, 'UUID').replace(/sha256(:|%3A)[0-9a-f]+/, 'D')}`)).toEqual([
      'POST /v2/team/app/blobs/uploads/',
      'PATCH /v2/team/app/blobs/uploads/UUID',
      'PUT /v2/team/app/blobs/uploads/UUID?_state=1&digest=D',
    ]);

    const before = target.requests.length;
    await client.pushBlob(ref, blob, open);
    expect(opened).toBe(1);
    expect(target.requests.slice(before).map((r) => r.method)).toEqual(['HEAD']);
  });

  it('starts the upload again when it fails on the way', async () => {
    const target = await start();
    const bytes = Buffer.from('payload');
    const source = await start();
    const blob = source.addBlob(bytes);
    target.inject({ method: 'PATCH', path: '/blobs/uploads/', status: 500 });
    let opened = 0;
    await clientFor(target).pushBlob(parseImageReference(`${target.host}/x:1`), blob, () => {
      opened += 1;
      return chunks(bytes);
    });
    expect(opened).toBe(2);
    expect(target.getBlob(blob.digest)?.toString()).toBe('payload');
  });

  it('reports content that does not match the digest', async () => {
    const target = await start();
    const descriptor = { mediaType: 'application/octet-stream', digest: `sha256:${'1'.repeat(64)}`, size: 3 };
    const error = await failure(clientFor(target).pushBlob(parseImageReference(`${target.host}/x:1`), descriptor, () => chunks(Buffer.from('abc'))));
    expect(error.code).toBe('REGISTRY_PROTOCOL');
    expect(error.message).toBe(`push \`${target.host}/x:1\`: blob sha256:111111111111: registry answered 400 (provided digest did not match uploaded content)`);
  });

  it('pushes a manifest under its tag and returns its digest', async () => {
    const source = await start();
    const target = await start();
    const image = source.addImage('app', '1', { layers: ['a', 'b'] });
    const client = clientFor(target);
    const ref = parseImageReference(`${target.host}/app:2`);
    for (const d of [image.config, ...image.layers]) {
      const { bytes } = descriptorOf(source, d.digest);
      await client.pushBlob(ref, d, () => chunks(bytes));
    }
    const digest = await client.pushManifest(ref, OCI_MANIFEST, image.manifestBytes);
    expect(digest).toBe(image.manifest.digest);
    expect(target.getManifest('app', '2')?.mediaType).toBe(OCI_MANIFEST);

    // and it pulls back the same
    const pulled = await client.getManifest(ref);
    expect(pulled.descriptor.digest).toBe(digest);
    const layer = await client.fetchBlob(ref, image.layers[1]!);
    expect((await collect(layer.body)).toString()).toBe('b');
  });

  it('pushes by digest when the reference has no tag, and checks that digest', async () => {
    const target = await start();
    const client = clientFor(target);
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
    const digest = await client.pushManifest(parseImageReference(`${target.host}/x@sha256:${'0'.repeat(64)}`), 'application/vnd.oci.image.index.v1+json', bytes).catch((e: unknown) => e);
    expect((digest as DevenvError).code).toBe('DIGEST_MISMATCH');
  });

  it('reports a manifest whose blobs are missing', async () => {
    const source = await start();
    const target = await start();
    const image = source.addImage('app', '1');
    const error = await failure(clientFor(target).pushManifest(parseImageReference(`${target.host}/app:1`), OCI_MANIFEST, image.manifestBytes));
    expect(error.code).toBe('REGISTRY_PROTOCOL');
    expect(error.message).toMatch(/^push `127\.0\.0\.1:\d+\/app:1`: registry answered 400 \(blob unknown to registry: sha256:/);
  });

  it('asks for pull,push tokens and is refused without push rights', async () => {
    const target = await start({ auth: 'bearer', users: { alice: 'pw' }, anonymousPull: true });
    const blob = { mediaType: 'application/octet-stream', digest: '', size: 2 };
    const source = await start();
    Object.assign(blob, source.addBlob('hi'));

    const anonymous = await failure(clientFor(target).pushBlob(parseImageReference(`${target.host}/x:1`), blob, () => chunks(Buffer.from('hi'))));
    expect(anonymous.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(anonymous.message).toMatch(/^push `127\.0\.0\.1:\d+\/x:1`: blob sha256:[0-9a-f]{12}: registry answered 401/);
    expect(anonymous.hint).toContain(`devenv login ${target.host}`);

    await clientFor(target, { username: 'alice', password: 'pw' }).pushBlob(parseImageReference(`${target.host}/x:1`), blob, () => chunks(Buffer.from('hi')));
    expect(target.tokenRequests.at(-1)).toEqual({ method: 'GET', user: 'alice', scopes: ['repository:x:pull,push'] });
    expect(target.getBlob(blob.digest)?.toString()).toBe('hi');
  });
});

describe('push failures of the source', () => {
  it('reports an error reading the content as itself, without retrying', async () => {
    const target = await start();
    let opened = 0;
    const descriptor = { mediaType: 'application/octet-stream', digest: `sha256:${'2'.repeat(64)}`, size: 3 };
    const error = await clientFor(target)
      .pushBlob(parseImageReference(`${target.host}/x:1`), descriptor, () => {
        opened += 1;
        return (async function* () {
          yield Buffer.from('a');
          throw new Error('disk read failed');
        })();
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('disk read failed');
    expect(opened).toBe(1);
  });
});

describe('upload locations on another host', () => {
  it('get no registry Authorization', async () => {
    const target = await start({ auth: 'basic', users: { alice: 'pw' } });
    // Rewrite the upload Location to the (other-origin) blob storage server.
    const moving: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method !== 'POST') return response;
      const headers = new Headers(response.headers);
      headers.set('location', `${target.storageUrl}/upload/1`);
      return new Response(null, { status: response.status, headers });
    };
    const client = createRegistryClient({
      config: EMPTY_REGISTRIES_CONFIG,
      credentials: staticCredentialStore({ [target.host]: { username: 'alice', password: 'pw' } }),
      retry: { sleep: async () => undefined },
      fetch: moving,
    });
    const blob = { mediaType: 'application/octet-stream', digest: `sha256:${'3'.repeat(64)}`, size: 2 };
    // blob storage knows no such upload, so the push fails; only the headers matter here
    await client.pushBlob(parseImageReference(`${target.host}/x:1`), blob, () => chunks(Buffer.from('hi'))).catch(() => undefined);
    const post = target.requests.find((r) => r.server === 'registry' && r.method === 'POST' && r.headers.authorization);
    expect(post).toBeDefined();
    const patch = target.requests.find((r) => r.server === 'storage' && r.method === 'PATCH');
    expect(patch).toBeDefined();
    expect(patch?.headers.authorization).toBeUndefined();
  });
});
