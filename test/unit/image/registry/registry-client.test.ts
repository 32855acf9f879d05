import { createHash } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { parseImageReference } from '../../../../src/image/reference.js';
import { staticCredentialStore, type RegistryCredentials } from '../../../../src/image/registry/credentials.js';
import { MANIFEST_ACCEPT } from '../../../../src/image/registry/media-types.js';
import { EMPTY_REGISTRIES_CONFIG, parseRegistriesConfig, type RegistriesConfig } from '../../../../src/image/registry/registries-config.js';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from '../../../../src/image/registry/registry-client.js';
import { startFakeRegistry, type FakeRegistry, type FakeRegistryOptions } from '../../../support/fake-registry.js';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };

const registries: FakeRegistry[] = [];
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
});

async function start(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const registry = await startFakeRegistry(options);
  registries.push(registry);
  return registry;
}

interface Harness {
  client: RegistryClient;
  delays: number[];
}

function clientFor(
  registry: FakeRegistry,
  options: { credentials?: RegistryCredentials; config?: RegistriesConfig } & Omit<RegistryClientOptions, 'credentials' | 'config'> = {},
): Harness {
  const delays: number[] = [];
  const { credentials, config, ...rest } = options;
  const client = createRegistryClient({
    config: config ?? EMPTY_REGISTRIES_CONFIG,
    credentials: staticCredentialStore(credentials ? { [registry.host]: credentials } : {}),
    platform: AMD64,
    retry: { sleep: async (ms) => void delays.push(ms) },
    ...rest,
  });
  return { client, delays };
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function failure(promise: Promise<unknown>): Promise<DevenvError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DevenvError);
  return error as DevenvError;
}

const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('getManifest', () => {
  it('fetches by tag anonymously, with the Accept header for OCI and Docker types', async () => {
    const registry = await start();
    const image = registry.addImage('team/app', '1.0');
    const { client } = clientFor(registry);
    const result = await client.getManifest(parseImageReference(`${registry.host}/team/app:1.0`));
    expect(result.bytes.equals(image.manifestBytes)).toBe(true);
    expect(result.descriptor).toEqual({ mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size });
    expect(result.indexDigest).toBeUndefined();
    const get = registry.requests.find((r) => r.url === '/v2/team/app/manifests/1.0');
    expect(get?.headers.accept).toBe(MANIFEST_ACCEPT);
    expect(get?.headers.authorization).toBeUndefined();
    expect(get?.headers['user-agent']).toBe('devenv');
  });

  it('fetches by digest, and Docker schema-2 manifests', async () => {
    const registry = await start();
    const image = registry.addImage('x', undefined, { format: 'docker' });
    const { client } = clientFor(registry);
    const result = await client.getManifest(parseImageReference(`${registry.host}/x:ignored@${image.manifest.digest}`));
    expect(result.descriptor.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(result.descriptor.digest).toBe(image.manifest.digest);
    expect(registry.requests.some((r) => r.url === `/v2/x/manifests/${image.manifest.digest}`)).toBe(true);
  });

  it('follows an index to the requested platform (host platform by default)', async () => {
    const registry = await start();
    const amd = registry.addImage('multi', undefined, { platform: AMD64, layers: ['amd'] });
    const arm = registry.addImage('multi', undefined, { platform: { os: 'linux', architecture: 'arm64' }, layers: ['arm'] });
    const index = registry.addIndex('multi', 'latest', [amd, arm]);
    const { client } = clientFor(registry);
    const ref = parseImageReference(`${registry.host}/multi`);

    const byDefault = await client.getManifest(ref);
    expect(byDefault.descriptor.digest).toBe(amd.manifest.digest);
    expect(byDefault.descriptor.platform).toEqual(AMD64);
    expect(byDefault.indexDigest).toBe(index.digest);
    expect(byDefault.bytes.equals(amd.manifestBytes)).toBe(true);

    const forArm = await client.getManifest(ref, { platform: ARM64 });
    expect(forArm.descriptor.digest).toBe(arm.manifest.digest);
  });

  it('reads Docker manifest lists too', async () => {
    const registry = await start();
    const amd = registry.addImage('list', undefined, { platform: AMD64, format: 'docker' });
    registry.addIndex('list', 'v1', [amd], 'docker');
    const { client } = clientFor(registry);
    expect((await client.getManifest(parseImageReference(`${registry.host}/list:v1`))).descriptor.digest).toBe(amd.manifest.digest);
  });

  it('lists the available platforms when none matches', async () => {
    const registry = await start();
    const arm = registry.addImage('armonly', undefined, { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } });
    registry.addIndex('armonly', 'latest', [arm]);
    const { client } = clientFor(registry);
    const error = await failure(client.getManifest(parseImageReference(`${registry.host}/armonly`)));
    expect(error.code).toBe('REGISTRY_NOT_FOUND');
    expect(error.message).toBe(`pull \`${registry.host}/armonly:latest\`: no manifest for linux/amd64 in the image index (available: linux/arm/v7)`);
  });

  it('answers 404 with REGISTRY_NOT_FOUND naming the operation and the registry message', async () => {
    const registry = await start();
    const { client } = clientFor(registry);
    const error = await failure(client.getManifest(parseImageReference(`${registry.host}/x:nope`)));
    expect(error.code).toBe('REGISTRY_NOT_FOUND');
    expect(error.message).toBe(`pull \`${registry.host}/x:nope\`: registry answered 404 (manifest unknown)`);
    expect(error.hint).toContain('check the name');
  });

  it('refuses manifests over 4 MiB', async () => {
    const registry = await start();
    registry.addManifest('big', 'latest', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', pad: 'x'.repeat(4 * 1024 * 1024) }, 'application/vnd.oci.image.manifest.v1+json');
    const { client } = clientFor(registry);
    const error = await failure(client.getManifest(parseImageReference(`${registry.host}/big`)));
    expect(error.code).toBe('REGISTRY_PROTOCOL');
    expect(error.message).toMatch(/more than 4194304|larger than 4194304/);
  });

  it('refuses schema-1 manifests clearly', async () => {
    const registry = await start();
    registry.addManifest('old', 'latest', { schemaVersion: 1, name: 'old', tag: 'latest', fsLayers: [] }, 'application/vnd.docker.distribution.manifest.v1+prettyjws');
    const { client } = clientFor(registry);
    const error = await failure(client.getManifest(parseImageReference(`${registry.host}/old`)));
    expect(error.code).toBe('REGISTRY_PROTOCOL');
    expect(error.message).toMatch(/schema 1/);
  });
});

describe('digest verification', () => {
  it('rejects a manifest fetched by tag whose bytes do not match Docker-Content-Digest', async () => {
    const registry = await start();
    registry.addImage('x', '1');
    registry.inject({ path: '/manifests/1', kind: 'wrong-digest' });
    const { client } = clientFor(registry);
    const error = await failure(client.getManifest(parseImageReference(`${registry.host}/x:1`)));
    expect(error.code).toBe('DIGEST_MISMATCH');
    expect(error.message).toMatch(/^pull `127\.0\.0\.1:\d+\/x:1`: manifest digest mismatch: expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}$/);
  });

  it('rejects a manifest fetched by digest whose bytes do not match', async () => {
    const registry = await start();
    const image = registry.addImage('x', undefined);
    registry.inject({ path: `/manifests/${image.manifest.digest}`, kind: 'wrong-digest' });
    const { client } = clientFor(registry);
    const error = await failure(client.getManifest(parseImageReference(`${registry.host}/x@${image.manifest.digest}`)));
    expect(error.code).toBe('DIGEST_MISMATCH');
  });

  it('verifies the platform manifest an index points to', async () => {
    const registry = await start();
    const amd = registry.addImage('x', undefined, { platform: AMD64 });
    registry.addIndex('x', 'latest', [amd]);
    registry.inject({ path: `/manifests/${amd.manifest.digest}`, kind: 'wrong-digest' });
    const { client } = clientFor(registry);
    expect((await failure(client.getManifest(parseImageReference(`${registry.host}/x`)))).code).toBe('DIGEST_MISMATCH');
  });
});

describe('retries', () => {
  it('waits as Retry-After says on 429, then succeeds', async () => {
    const registry = await start();
    registry.addImage('x', '1');
    registry.inject({ path: '/manifests/1', status: 429, headers: { 'retry-after': '3' }, times: 2 });
    const { client, delays } = clientFor(registry);
    await client.getManifest(parseImageReference(`${registry.host}/x:1`));
    expect(delays).toEqual([3000, 3000]);
  });

  it('retries a 500 with backoff', async () => {
    const registry = await start();
    const image = registry.addImage('x', '1');
    registry.inject({ path: '/blobs/', status: 500 });
    const { client, delays } = clientFor(registry);
    const { body } = await client.fetchBlob(parseImageReference(`${registry.host}/x:1`), image.layers[0]!);
    expect((await collect(body)).toString()).toBe('layer one');
    expect(delays).toEqual([250]);
  });

  it('gives up after 5 tries with REGISTRY_UNAVAILABLE', async () => {
    const registry = await start();
    registry.inject({ path: '/manifests/', status: 503, times: 10 });
    const { client, delays } = clientFor(registry);
    const error = await failure(client.getManifest(parseImageReference(`${registry.host}/x:1`)));
    expect(error.code).toBe('REGISTRY_UNAVAILABLE');
    expect(error.message).toBe(`pull \`${registry.host}/x:1\`: registry answered 503 (injected 503)`);
    expect(delays).toHaveLength(4);
    expect(registry.requests.filter((r) => r.url.includes('/manifests/'))).toHaveLength(5);
  });

  it('reports a registry that is not there', async () => {
    const registry = await start();
    const host = registry.host;
    await registry.close();
    const { client, delays } = clientFor(registry);
    const error = await failure(client.getManifest(parseImageReference(`${host}/x:1`)));
    expect(error.code).toBe('REGISTRY_UNAVAILABLE');
    expect(error.message).toBe(`pull \`${host}/x:1\`: cannot reach ${host}: ECONNREFUSED`);
    expect(delays).toHaveLength(4);
  });
});

describe('bearer token auth', () => {
  it('gets an anonymous token for public pulls and reuses it', async () => {
    const registry = await start({ auth: 'bearer', anonymousPull: true });
    const image = registry.addImage('pub/app', 'v1');
    const { client } = clientFor(registry);
    const ref = parseImageReference(`${registry.host}/pub/app:v1`);
    await client.getManifest(ref);
    await collect((await client.fetchBlob(ref, image.layers[0]!)).body);
    await collect((await client.fetchBlob(ref, image.config)).body);
    expect(registry.tokenRequests).toEqual([{ method: 'GET', user: undefined, scopes: ['repository:pub/app:pull'] }]);
    const blobGet = registry.requests.find((r) => r.url.includes('/blobs/'));
    expect(blobGet?.headers.authorization).toMatch(/^Bearer /);
  });

  it('sends credentials to the token service for private repositories', async () => {
    const registry = await start({ auth: 'bearer', users: { alice: 'wonder' } });
    registry.addImage('private/app', '1');
    const { client } = clientFor(registry, { credentials: { username: 'alice', password: 'wonder' } });
    await client.getManifest(parseImageReference(`${registry.host}/private/app:1`));
    expect(registry.tokenRequests).toEqual([{ method: 'GET', user: 'alice', scopes: ['repository:private/app:pull'] }]);
  });

  it('refuses without credentials, with a login hint', async () => {
    const registry = await start({ auth: 'bearer', users: { alice: 'wonder' } });
    registry.addImage('private/app', '1');
    const { client } = clientFor(registry);
    const error = await failure(client.getManifest(parseImageReference(`${registry.host}/private/app:1`)));
    expect(error.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(error.message).toBe(`pull \`${registry.host}/private/app:1\`: registry answered 401 (authentication required)`);
    expect(error.hint).toContain(`devenv login ${registry.host}`);
  });

  it('reports credentials the token service refuses', async () => {
    const registry = await start({ auth: 'bearer', users: { alice: 'wonder' } });
    const { client } = clientFor(registry, { credentials: { username: 'alice', password: 'wrong' } });
    const error = await failure(client.getManifest(parseImageReference(`${registry.host}/private/app:1`)));
    expect(error.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(error.message).toBe(
      `pull \`${registry.host}/private/app:1\`: the token service of ${registry.host} refused the credentials of \`alice\` (401: incorrect username or password)`,
    );
    expect(error.hint).toContain(`devenv login ${registry.host}`);
  });

  it('gets a new token when the server says the old one expired', async () => {
    let serverNow = 1_000_000;
    const registry = await start({ auth: 'bearer', anonymousPull: true, tokenTtlSeconds: 60, now: () => serverNow });
    registry.addImage('x', '1');
    const { client } = clientFor(registry);
    const ref = parseImageReference(`${registry.host}/x:1`);
    await client.getManifest(ref);
    serverNow += 61_000;
    await client.getManifest(ref);
    expect(registry.tokenRequests).toHaveLength(2);
  });

  it('gets a new token before its own clock says the old one expires', async () => {
    let clientNow = 1_000_000;
    const registry = await start({ auth: 'bearer', anonymousPull: true, tokenTtlSeconds: 60 });
    registry.addImage('x', '1');
    const { client } = clientFor(registry, { now: () => clientNow });
    const ref = parseImageReference(`${registry.host}/x:1`);
    await client.getManifest(ref);
    const unauthorizedBefore = registry.requests.filter((r) => r.url.includes('/manifests/') && !r.headers.authorization).length;
    clientNow += 50_000;
    await client.getManifest(ref);
    expect(registry.tokenRequests).toHaveLength(2);
    // the second token was fetched up front: no extra anonymous attempt
    expect(registry.requests.filter((r) => r.url.includes('/manifests/') && !r.headers.authorization)).toHaveLength(unauthorizedBefore);
  });

  it('uses an identity token with the OAuth2 refresh-token grant', async () => {
    const registry = await start({ auth: 'bearer', identityTokens: { 'refresh-123': 'bob' } });
    registry.addImage('bob/app', '1');
    const { client } = clientFor(registry, { credentials: { username: '', password: '', identityToken: 'refresh-123' } });
    await client.getManifest(parseImageReference(`${registry.host}/bob/app:1`));
    expect(registry.tokenRequests).toEqual([{ method: 'POST', user: 'bob', scopes: ['repository:bob/app:pull'] }]);
  });
});

describe('basic auth', () => {
  it('answers a Basic challenge with the credentials', async () => {
    const registry = await start({ auth: 'basic', users: { carol: 'pw' } });
    registry.addImage('x', '1');
    const { client } = clientFor(registry, { credentials: { username: 'carol', password: 'pw' } });
    await client.getManifest(parseImageReference(`${registry.host}/x:1`));
    const last = registry.requests.at(-1);
    expect(last?.headers.authorization).toBe(`Basic ${Buffer.from('carol:pw').toString('base64')}`);
  });

  it('reports 401 without credentials and with wrong ones', async () => {
    const registry = await start({ auth: 'basic', users: { carol: 'pw' } });
    registry.addImage('x', '1');
    const anonymous = await failure(clientFor(registry).client.getManifest(parseImageReference(`${registry.host}/x:1`)));
    expect(anonymous.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(anonymous.hint).toMatch(/if the repository is private, run `devenv login 127\.0\.0\.1:\d+`/);
    const wrong = await failure(
      clientFor(registry, { credentials: { username: 'carol', password: 'nope' } }).client.getManifest(parseImageReference(`${registry.host}/x:1`)),
    );
    expect(wrong.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(wrong.hint).toMatch(/were not accepted/);
  });
});

describe('injected 401 and 404 on blobs', () => {
  it('maps them to clear errors', async () => {
    const registry = await start();
    const image = registry.addImage('x', '1');
    registry.inject({ path: '/blobs/', status: 401 });
    const { client } = clientFor(registry);
    const ref = parseImageReference(`${registry.host}/x:1`);
    const unauthorized = await failure(client.fetchBlob(ref, image.layers[0]!));
    expect(unauthorized.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(unauthorized.message).toBe(`pull \`${registry.host}/x:1\`: blob ${image.layers[0]!.digest.slice(0, 19)}: registry answered 401 (injected 401)`);
    const missing = await failure(client.fetchBlob(ref, { ...image.layers[0]!, digest: `sha256:${'0'.repeat(64)}` }));
    expect(missing.code).toBe('REGISTRY_NOT_FOUND');
    expect(missing.hint).toMatch(/The blob does not exist/);
  });
});

describe('fetchBlob', () => {
  const content = Buffer.from('0123456789'.repeat(1000));

  it('resumes with Range and reports resumed only on 206', async () => {
    const registry = await start();
    const layer = registry.addBlob(content);
    const { client } = clientFor(registry);
    const ref = parseImageReference(`${registry.host}/x:1`);

    const whole = await client.fetchBlob(ref, layer);
    expect(whole.resumed).toBe(false);
    expect((await collect(whole.body)).equals(content)).toBe(true);

    const rest = await client.fetchBlob(ref, layer, { offset: 4000 });
    expect(rest.resumed).toBe(true);
    expect((await collect(rest.body)).equals(content.subarray(4000))).toBe(true);
    expect(registry.requests.at(-1)?.headers.range).toBe('bytes=4000-');

    // offset past the end (416): start again from 0
    const again = await client.fetchBlob(ref, layer, { offset: content.length });
    expect(again.resumed).toBe(false);
    expect((await collect(again.body)).length).toBe(content.length);
  });

  it('reports a server that ignores Range as not resumed', async () => {
    const registry = await start();
    const layer = registry.addBlob(content);
    registry.inject({ path: '/blobs/', status: 200, body: content.toString(), headers: { 'content-type': 'application/octet-stream' } });
    const { client } = clientFor(registry);
    const result = await client.fetchBlob(parseImageReference(`${registry.host}/x:1`), layer, { offset: 10 });
    expect(result.resumed).toBe(false);
    expect((await collect(result.body)).equals(content)).toBe(true);
  });

  it('turns a truncated download into a resumable REGISTRY_UNAVAILABLE', async () => {
    const registry = await start();
    const layer = registry.addBlob(content);
    registry.inject({ path: '/blobs/', kind: 'truncate' });
    const { client } = clientFor(registry);
    const ref = parseImageReference(`${registry.host}/x:1`);
    const { body } = await client.fetchBlob(ref, layer);
    const received: Buffer[] = [];
    const error = await failure(
      (async () => {
        for await (const chunk of body) received.push(Buffer.from(chunk));
      })(),
    );
    expect(error.code).toBe('REGISTRY_UNAVAILABLE');
    expect(error.message).toMatch(/the download (broke off|ended) after \d+/);
    expect(error.hint).toMatch(/resumes/);
    const got = Buffer.concat(received);
    expect(got.length).toBeLessThan(content.length);

    const rest = await client.fetchBlob(ref, layer, { offset: got.length });
    expect(rest.resumed).toBe(true);
    expect(sha256(Buffer.concat([got, await collect(rest.body)]))).toBe(layer.digest);
  });

  it('refuses a body longer than the descriptor says', async () => {
    const registry = await start();
    const layer = registry.addBlob(content);
    const { client } = clientFor(registry);
    const { body } = await client.fetchBlob(parseImageReference(`${registry.host}/x:1`), { ...layer, size: 100 });
    expect((await failure(collect(body))).code).toBe('DIGEST_MISMATCH');
  });

  it('follows a redirect to blob storage without sending the registry Authorization there', async () => {
    const registry = await start({ auth: 'bearer', users: { alice: 'wonder' }, blobRedirect: true });
    const layer = registry.addBlob(content);
    const { client } = clientFor(registry, { credentials: { username: 'alice', password: 'wonder' } });
    const ref = parseImageReference(`${registry.host}/private/x:1`);
    const result = await client.fetchBlob(ref, layer, { offset: 5 });
    expect(result.resumed).toBe(true);
    expect((await collect(result.body)).equals(content.subarray(5))).toBe(true);

    const toRegistry = registry.requests.filter((r) => r.server === 'registry' && r.url.includes('/blobs/'));
    expect(toRegistry.at(-1)?.headers.authorization).toMatch(/^Bearer /);
    const toStorage = registry.requests.filter((r) => r.server === 'storage');
    expect(toStorage).toHaveLength(1);
    expect(toStorage[0]?.headers.authorization).toBeUndefined();
    expect(toStorage[0]?.headers.range).toBe('bytes=5-');
  });

  it('stops when aborted', async () => {
    const registry = await start();
    const layer = registry.addBlob(content);
    const { client } = clientFor(registry);
    const controller = new AbortController();
    controller.abort();
    await expect(client.fetchBlob(parseImageReference(`${registry.host}/x:1`), layer, { signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

describe('mirrors', () => {
  it('pulls from a mirror, and from the registry when the mirror lacks the image', async () => {
    const upstream = await start();
    const mirror = await start();
    const onMirror = mirror.addImage('library/x', 'mirrored');
    const onUpstream = upstream.addImage('library/x', 'upstream-only');
    const config = parseRegistriesConfig(JSON.stringify({ registries: { [upstream.host]: { mirrors: [mirror.url] } } }), 'r.json');
    const { client } = clientFor(upstream, { config });

    const fromMirror = await client.getManifest(parseImageReference(`${upstream.host}/library/x:mirrored`));
    expect(fromMirror.descriptor.digest).toBe(onMirror.manifest.digest);
    expect(upstream.requests.filter((r) => r.url.includes('/manifests/'))).toHaveLength(0);

    const fallback = await client.getManifest(parseImageReference(`${upstream.host}/library/x:upstream-only`));
    expect(fallback.descriptor.digest).toBe(onUpstream.manifest.digest);
    expect(mirror.requests.some((r) => r.url.endsWith('/manifests/upstream-only'))).toBe(true);
  });

  it('reports the registry error, not the mirror one, when both fail', async () => {
    const upstream = await start();
    const mirror = await start();
    mirror.inject({ path: '/manifests/', status: 400, times: 5 });
    const config = parseRegistriesConfig(JSON.stringify({ registries: { [upstream.host]: { mirrors: [mirror.url] } } }), 'r.json');
    const error = await failure(clientFor(upstream, { config }).client.getManifest(parseImageReference(`${upstream.host}/x:1`)));
    expect(error.code).toBe('REGISTRY_NOT_FOUND');
  });
});

describe('scheme', () => {
  /** A fetch that sends every request to the fake registry but records the URL asked for; https fails to connect. */
  function routed(registry: FakeRegistry, asked: string[]): typeof fetch {
    return async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      asked.push(`${url.protocol}//${url.host}`);
      if (url.protocol === 'https:') throw new TypeError('fetch failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) });
      return fetch(`${registry.url}${url.pathname}${url.search}`, init);
    };
  }

  it('falls back to plain HTTP for registries marked insecure, once', async () => {
    const registry = await start();
    registry.addImage('x', '1');
    const asked: string[] = [];
    const config = parseRegistriesConfig('{"registries":{"reg.example":{"insecure":true}}}', 'r.json');
    const { client } = clientFor(registry, { config, fetch: routed(registry, asked) });
    await client.getManifest(parseImageReference('reg.example/x:1'));
    await client.getManifest(parseImageReference('reg.example/x:1'));
    expect(asked).toEqual(['https://reg.example', 'http://reg.example', 'http://reg.example']);
  });

  it('never uses plain HTTP for other registries', async () => {
    const registry = await start();
    const asked: string[] = [];
    const { client } = clientFor(registry, { fetch: routed(registry, asked) });
    const error = await failure(client.getManifest(parseImageReference('reg.example/x:1')));
    expect(error.code).toBe('REGISTRY_UNAVAILABLE');
    expect(asked.every((u) => u === 'https://reg.example')).toBe(true);
  });
});
