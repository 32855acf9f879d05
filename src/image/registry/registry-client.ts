import { createHash } from 'node:crypto';

import { DevenvError } from '../../errors.js';
import type { Logger } from '../../host/logger.js';
import { familiarName } from '../reference.js';
import type { Descriptor, ImageReference, Platform } from '../types.js';
import { createCredentialStore, type CredentialStore } from './credentials.js';
import { isImageManifestMediaType, isIndexMediaType, isSchema1MediaType, MANIFEST_ACCEPT, stripMediaTypeParameters } from './media-types.js';
import { hostPlatform, selectPlatformManifest } from './platform.js';
import { loadRegistriesConfig, registryEndpoints, type RegistriesConfig, type RegistryEndpoint } from './registries-config.js';
import { readRegistryErrorDetail, registryStatusError } from './registry-errors.js';
import { createRegistryTransport, type RegistryRequest, type RegistryTransport } from './registry-transport.js';
import { DEFAULT_RETRY_POLICY, retryOperation, type RetryPolicy } from './retry.js';

/** The OCI distribution client of docs/images.md. */
export interface RegistryClient {
  /** Resolve a reference to its manifest (following an index to `platform`, default the host's). */
  getManifest(ref: ImageReference, options?: { platform?: Platform }): Promise<{ descriptor: Descriptor; bytes: Buffer; indexDigest?: string }>;
  /** Stream a blob; `offset` > 0 asks for the rest (HTTP Range) and `resumed` says whether the server honoured it. */
  fetchBlob(
    ref: ImageReference,
    descriptor: Descriptor,
    options?: { offset?: number; signal?: AbortSignal },
  ): Promise<{ body: AsyncIterable<Uint8Array>; resumed: boolean }>;
  hasBlob(ref: ImageReference, digest: string): Promise<boolean>;
  /** Upload a blob unless the registry has it; `open` is called again for each try. */
  pushBlob(ref: ImageReference, descriptor: Descriptor, open: () => AsyncIterable<Uint8Array>): Promise<void>;
  /** Upload a manifest under the reference's tag (or digest); returns its digest. */
  pushManifest(ref: ImageReference, mediaType: string, bytes: Buffer): Promise<string>;
}

/** Everything is optional: the defaults read the user's registries.json and credentials and use the network. */
export interface RegistryClientOptions {
  /** Mirrors and insecure registries (default: loadRegistriesConfig()). */
  config?: RegistriesConfig;
  /** Where credentials come from (default: createCredentialStore()). */
  credentials?: CredentialStore;
  /** The platform to pick from an index when the caller names none (default: the host's). */
  platform?: Platform;
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  now?: () => number;
  userAgent?: string;
  logger?: Logger;
}

/** Manifests larger than this are refused (as containerd does). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const SUPPORTED_DIGESTS: Record<string, string> = { sha256: 'sha256', sha512: 'sha512' };

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}

function digestMismatch(operation: string, what: string, expected: string, actual: string): DevenvError {
  return new DevenvError('DIGEST_MISMATCH', `${operation}: ${what} digest mismatch: expected ${expected}, got ${actual}`, {
    kind: 'external',
    hint: 'The registry (or something between it and you) sent different content than it announced; try again.',
  });
}

/** Check `bytes` against `digest` (sha256 or sha512); throws DIGEST_MISMATCH. */
function checkDigest(bytes: Uint8Array, digest: string, operation: string, what: string): void {
  const colon = digest.indexOf(':');
  const algorithm = SUPPORTED_DIGESTS[digest.slice(0, colon)];
  if (!algorithm) {
    throw new DevenvError('REGISTRY_PROTOCOL', `${operation}: ${what} has digest \`${digest}\` of an unsupported algorithm`, { kind: 'external' });
  }
  const actual = `${digest.slice(0, colon)}:${createHash(algorithm).update(bytes).digest('hex')}`;
  if (actual !== digest) throw digestMismatch(operation, what, digest, actual);
}

interface FetchedManifest {
  mediaType: string;
  digest: string;
  bytes: Buffer;
  json: { mediaType?: unknown; manifests?: unknown; schemaVersion?: unknown };
}

function inferMediaType(json: FetchedManifest['json'], contentType: string): string {
  if (typeof json.mediaType === 'string' && json.mediaType !== '') return json.mediaType;
  if (contentType !== '' && contentType !== 'application/json' && contentType !== 'application/octet-stream') return contentType;
  if (json.schemaVersion === 1) return 'application/vnd.docker.distribution.manifest.v1+json';
  return Array.isArray(json.manifests) ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json';
}

function parseIndexManifests(manifest: FetchedManifest, operation: string): Descriptor[] {
  const list = manifest.json.manifests;
  const valid =
    Array.isArray(list) &&
    list.every((d: unknown) => {
      const desc = d as Partial<Descriptor> | null;
      return typeof desc === 'object' && desc !== null && typeof desc.digest === 'string' && typeof desc.size === 'number' && typeof desc.mediaType === 'string';
    });
  if (!valid) throw new DevenvError('REGISTRY_PROTOCOL', `${operation}: the image index ${shortDigest(manifest.digest)} is malformed`, { kind: 'external' });
  return list as Descriptor[];
}

/** Create a client. Requests go to mirrors first for pulls (see registries-config.ts), only to the registry for pushes. */
export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  const config = options.config ?? loadRegistriesConfig();
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const now = options.now ?? (() => Date.now());
  const transport: RegistryTransport = createRegistryTransport({
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    retry,
    now,
    userAgent: options.userAgent ?? 'devenv',
    credentials: options.credentials ?? createCredentialStore(options.logger ? { onWarning: (m) => options.logger?.warn(m) } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const defaultPlatform = options.platform ?? hostPlatform();

  /** Try each endpoint in turn (mirrors first); the registry's own error is the one reported. */
  const onEndpoints = async <T>(endpoints: RegistryEndpoint[], run: (endpoint: RegistryEndpoint) => Promise<T>, signal?: AbortSignal): Promise<T> => {
    for (let i = 0; ; i += 1) {
      const endpoint = endpoints[i] as RegistryEndpoint;
      try {
        return await run(endpoint);
      } catch (error) {
        if (i >= endpoints.length - 1 || signal?.aborted || !(error instanceof DevenvError)) throw error;
        options.logger?.debug(`mirror ${endpoint.baseUrl} failed (${error.message}); trying the next`);
      }
    }
  };

  const failure = async (response: Response, request: RegistryRequest, object: string): Promise<DevenvError> => {
    const detail = request.method === 'HEAD' ? '' : await readRegistryErrorDetail(response);
    return registryStatusError(response.status, detail, {
      operation: request.operation,
      registry: request.endpoint.registry,
      authenticated: transport.hasCredentials(request.endpoint, request.repository),
      object,
    });
  };

  const fetchManifest = async (endpoint: RegistryEndpoint, ref: ImageReference, reference: string, operation: string): Promise<FetchedManifest> => {
    const request: RegistryRequest = {
      endpoint,
      repository: ref.repository,
      actions: ['pull'],
      method: 'GET',
      target: `/v2/${ref.repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      operation,
    };
    const response = await transport.request(request);
    if (response.status !== 200) throw await failure(response, request, 'manifest');
    const length = Number(response.headers.get('content-length') ?? '0');
    if (length > MAX_MANIFEST_BYTES) {
      await response.body?.cancel().catch(() => undefined);
      throw new DevenvError('REGISTRY_PROTOCOL', `${operation}: the manifest is ${length} bytes, more than ${MAX_MANIFEST_BYTES}`, { kind: 'external' });
    }
    const bytes = await readAtMost(response, MAX_MANIFEST_BYTES);
    if (bytes === undefined) {
      throw new DevenvError('REGISTRY_PROTOCOL', `${operation}: the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`, { kind: 'external' });
    }
    if (reference.includes(':')) checkDigest(bytes, reference, operation, 'manifest');
    // The registry's own statement of the digest: verified when it uses an algorithm we know.
    const announced = response.headers.get('docker-content-digest')?.trim();
    if (announced && SUPPORTED_DIGESTS[announced.slice(0, announced.indexOf(':'))]) checkDigest(bytes, announced, operation, 'manifest');
    let json: FetchedManifest['json'];
    try {
      json = JSON.parse(bytes.toString('utf8')) as FetchedManifest['json'];
    } catch (error) {
      throw new DevenvError('REGISTRY_PROTOCOL', `${operation}: the manifest is not valid JSON`, { kind: 'external', cause: error });
    }
    if (typeof json !== 'object' || json === null) throw new DevenvError('REGISTRY_PROTOCOL', `${operation}: the manifest is not a JSON object`, { kind: 'external' });
    const mediaType = inferMediaType(json, stripMediaTypeParameters(response.headers.get('content-type') ?? ''));
    return { mediaType, digest: sha256(bytes), bytes, json };
  };

  const requireImageManifest = (manifest: FetchedManifest, operation: string): void => {
    if (isImageManifestMediaType(manifest.mediaType)) return;
    if (isSchema1MediaType(manifest.mediaType)) {
      throw new DevenvError('REGISTRY_PROTOCOL', `${operation}: the image uses Docker's schema 1 manifest format, which devenv does not support`, {
        kind: 'external',
        hint: 'Push the image again with a current Docker or Podman to convert it.',
      });
    }
    throw new DevenvError('REGISTRY_PROTOCOL', `${operation}: unsupported manifest media type \`${manifest.mediaType}\``, { kind: 'external' });
  };

  const hasBlob = async (ref: ImageReference, digest: string): Promise<boolean> => {
    const request: RegistryRequest = {
      endpoint: registryEndpoints(ref.registry, config, 'push')[0] as RegistryEndpoint,
      repository: ref.repository,
      actions: ['pull', 'push'],
      method: 'HEAD',
      target: `/v2/${ref.repository}/blobs/${digest}`,
      operation: `push \`${familiarName(ref)}\`: blob ${shortDigest(digest)}`,
    };
    const response = await transport.request(request);
    await response.body?.cancel().catch(() => undefined);
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw await failure(response, request, 'repository');
  };

  return {
    hasBlob,

    async getManifest(ref, getOptions = {}) {
      const operation = `pull \`${familiarName(ref)}\``;
      const endpoints = registryEndpoints(ref.registry, config, 'pull');
      const top = await onEndpoints(endpoints, (endpoint) => fetchManifest(endpoint, ref, ref.digest ?? ref.tag ?? 'latest', operation));
      if (!isIndexMediaType(top.mediaType)) {
        requireImageManifest(top, operation);
        return { descriptor: { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length }, bytes: top.bytes };
      }
      const chosen = selectPlatformManifest(parseIndexManifests(top, operation), getOptions.platform ?? defaultPlatform, operation);
      const child = await onEndpoints(endpoints, (endpoint) => fetchManifest(endpoint, ref, chosen.digest, operation));
      if (child.bytes.length !== chosen.size) {
        throw new DevenvError('DIGEST_MISMATCH', `${operation}: manifest ${shortDigest(chosen.digest)} is ${child.bytes.length} bytes, the index says ${chosen.size}`, {
          kind: 'external',
        });
      }
      requireImageManifest(child, operation);
      const descriptor: Descriptor = { mediaType: child.mediaType, digest: child.digest, size: child.bytes.length };
      if (chosen.platform) descriptor.platform = chosen.platform;
      if (chosen.annotations) descriptor.annotations = chosen.annotations;
      return { descriptor, bytes: child.bytes, indexDigest: top.digest };
    },

    async fetchBlob(ref, descriptor, fetchOptions = {}) {
      const operation = `pull \`${familiarName(ref)}\`: blob ${shortDigest(descriptor.digest)}`;
      const offset = fetchOptions.offset ?? 0;
      const { signal } = fetchOptions;
      const open = async (endpoint: RegistryEndpoint, from: number): Promise<{ response: Response; resumed: boolean }> => {
        const request: RegistryRequest = {
          endpoint,
          repository: ref.repository,
          actions: ['pull'],
          method: 'GET',
          target: `/v2/${ref.repository}/blobs/${descriptor.digest}`,
          headers: from > 0 ? { range: `bytes=${from}-` } : {},
          operation,
          ...(signal ? { signal } : {}),
        };
        const response = await transport.request(request);
        if (response.status === 416 && from > 0) {
          await response.body?.cancel().catch(() => undefined);
          return open(endpoint, 0);
        }
        if (response.status === 206 && from > 0) {
          const start = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
          if (start !== undefined && Number(start) !== from) {
            await response.body?.cancel().catch(() => undefined);
            throw new DevenvError('REGISTRY_PROTOCOL', `${operation}: asked for bytes from ${from}, the registry sent from ${start}`, { kind: 'external' });
          }
          return { response, resumed: true };
        }
        if (response.status !== 200) throw await failure(response, request, 'blob');
        return { response, resumed: false };
      };
      const endpoints = registryEndpoints(ref.registry, config, 'pull');
      const { response, resumed } = await onEndpoints(endpoints, (endpoint) => open(endpoint, offset), signal);
      const expected = descriptor.size >= 0 ? descriptor.size - (resumed ? offset : 0) : undefined;
      return { body: countedBody(response, expected, operation, signal), resumed };
    },

    async pushBlob(ref, descriptor, open) {
      if (await hasBlob(ref, descriptor.digest)) return;
      const endpoint = registryEndpoints(ref.registry, config, 'push')[0] as RegistryEndpoint;
      const operation = `push \`${familiarName(ref)}\`: blob ${shortDigest(descriptor.digest)}`;
      const base = { endpoint, repository: ref.repository, actions: ['pull', 'push'] as ('pull' | 'push')[], operation };
      const upload = async (): Promise<void> => {
        const start: RegistryRequest = { ...base, method: 'POST', target: `/v2/${ref.repository}/blobs/uploads/` };
        const started = await transport.request(start);
        if (started.status !== 202) throw await failure(started, start, 'repository');
        await started.body?.cancel().catch(() => undefined);
        let location = uploadLocation(started, operation);

        // A failure to read our own content must surface as itself, not as a network error of the upload.
        let sourceError: unknown;
        const source = open();
        const body = (async function* () {
          try {
            yield* source;
          } catch (error) {
            sourceError = error;
            throw error;
          }
        })();
        const patch: RegistryRequest = {
          ...base,
          method: 'PATCH',
          target: location,
          headers: { 'content-type': 'application/octet-stream' },
          body,
        };
        const patched = await transport.request(patch).catch((error: unknown) => {
          throw sourceError ?? error;
        });
        if (patched.status !== 202 && patched.status !== 204) throw await failure(patched, patch, 'upload');
        await patched.body?.cancel().catch(() => undefined);
        if (patched.headers.get('location')) location = uploadLocation(patched, operation);

        const finishUrl = new URL(location);
        finishUrl.searchParams.set('digest', descriptor.digest);
        const finish: RegistryRequest = { ...base, method: 'PUT', target: finishUrl.href };
        const finished = await transport.request(finish);
        if (finished.status !== 201 && finished.status !== 204 && finished.status !== 200) throw await failure(finished, finish, 'upload');
        await finished.body?.cancel().catch(() => undefined);
        const stored = finished.headers.get('docker-content-digest');
        if (stored && stored !== descriptor.digest) throw digestMismatch(operation, 'uploaded blob', descriptor.digest, stored);
      };
      await retryOperation(upload, (error) => error instanceof DevenvError && error.code === 'REGISTRY_UNAVAILABLE', retry);
    },

    async pushManifest(ref, mediaType, bytes) {
      const operation = `push \`${familiarName(ref)}\``;
      const digest = sha256(bytes);
      if (ref.digest !== undefined && ref.digest !== digest) throw digestMismatch(operation, 'manifest', ref.digest, digest);
      const request: RegistryRequest = {
        endpoint: registryEndpoints(ref.registry, config, 'push')[0] as RegistryEndpoint,
        repository: ref.repository,
        actions: ['pull', 'push'],
        method: 'PUT',
        target: `/v2/${ref.repository}/manifests/${ref.tag ?? digest}`,
        headers: { 'content-type': mediaType },
        body: bytes,
        operation,
      };
      const response = await transport.request(request);
      if (response.status < 200 || response.status > 299) throw await failure(response, request, 'repository');
      await response.body?.cancel().catch(() => undefined);
      const stored = response.headers.get('docker-content-digest');
      if (stored && stored !== digest) throw digestMismatch(operation, 'manifest', digest, stored);
      return digest;
    },
  };
}

/** The whole body, or undefined (and the rest left unread) when it is longer than `limit`. */
async function readAtMost(response: Response, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(Buffer.from(value));
  }
}

/** The absolute upload URL from a `Location` header (often relative to the request). */
function uploadLocation(response: Response, operation: string): string {
  const location = response.headers.get('location');
  if (!location) throw new DevenvError('REGISTRY_PROTOCOL', `${operation}: the registry started an upload without a Location`, { kind: 'external' });
  try {
    return new URL(location, response.url || undefined).href;
  } catch {
    throw new DevenvError('REGISTRY_PROTOCOL', `${operation}: the registry gave an upload Location that is not a URL (\`${location}\`)`, { kind: 'external' });
  }
}

/**
 * The body of a blob answer, checked for length as it streams: more than `expected` bytes is a mismatch, a
 * connection that ends early an interruption the caller can resume (REGISTRY_UNAVAILABLE).
 */
async function* countedBody(response: Response, expected: number | undefined, operation: string, signal?: AbortSignal): AsyncIterable<Uint8Array> {
  let received = 0;
  const body = response.body;
  if (body) {
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        received += chunk.byteLength;
        if (expected !== undefined && received > expected) {
          throw new DevenvError('DIGEST_MISMATCH', `${operation}: the registry sent more than the ${expected} bytes expected`, { kind: 'external' });
        }
        yield chunk;
      }
    } catch (error) {
      if (error instanceof DevenvError || signal?.aborted) throw error;
      throw new DevenvError('REGISTRY_UNAVAILABLE', `${operation}: the download broke off after ${received} bytes`, {
        kind: 'external',
        hint: 'Run the command again; the download resumes where it stopped.',
        cause: error,
      });
    }
  }
  if (expected !== undefined && received < expected) {
    throw new DevenvError('REGISTRY_UNAVAILABLE', `${operation}: the download ended after ${received} of ${expected} bytes`, {
      kind: 'external',
      hint: 'Run the command again; the download resumes where it stopped.',
    });
  }
}
