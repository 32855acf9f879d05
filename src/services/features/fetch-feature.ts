/**
 * Fetching Features into the cache: OCI artifacts (`application/vnd.devcontainers`, one layer of media type
 * `application/vnd.devcontainers.layer.v1+tar`) through the registry client, and `.tgz` tarballs over HTTPS,
 * checked against the lockfile's integrity. Nothing is fetched that the cache already holds under its digest.
 */
import { createHash } from 'node:crypto';

import { DevenvError } from '../../errors.js';
import type { FeatureSource } from '../../devcontainer/features/feature-types.js';
import type { Descriptor, ImageReference } from '../../image/types.js';
import { cachedFeatureDir, extractTar, readCachedRef, storeFeature, writeCachedRef, type FeatureCachePaths } from './feature-cache.js';

/** The media type of a Feature's layer in its OCI artifact. */
export const FEATURE_LAYER_MEDIA_TYPE = 'application/vnd.devcontainers.layer.v1+tar';
/** The config media type of a Feature artifact. */
export const FEATURE_CONFIG_MEDIA_TYPE = 'application/vnd.devcontainers';

/** Features are small; anything larger is refused rather than held in memory. */
const MAX_FEATURE_BYTES = 256 * 1024 * 1024;

/** The registry operations Feature fetching uses (a subset of RegistryClient). */
export interface FeatureRegistry {
  getManifest(ref: ImageReference): Promise<{ descriptor: Descriptor; bytes: Buffer }>;
  fetchBlob(ref: ImageReference, descriptor: Descriptor): Promise<{ body: AsyncIterable<Uint8Array> }>;
}

/** How fetching reaches the outside world; tests pass fakes. */
export interface FeatureFetchDeps {
  paths: FeatureCachePaths;
  registry: () => Promise<FeatureRegistry>;
  fetch: typeof fetch;
  env: NodeJS.ProcessEnv;
  warn: (message: string) => void;
  progress: (message: string) => void;
}

/** A Feature in the cache. */
export interface FetchedFeature {
  dir: string;
  digest: string;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function readAll(body: AsyncIterable<Uint8Array>, where: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_FEATURE_BYTES) throw new DevenvError('FEATURE_INVALID', `${where}: larger than ${MAX_FEATURE_BYTES} bytes`, { kind: 'external' });
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** Whether a failure means "could not reach it" (worth falling back to the cache), not "it is wrong". */
function isUnreachable(error: unknown): boolean {
  return error instanceof DevenvError ? error.code === 'REGISTRY_UNAVAILABLE' : error instanceof TypeError; // fetch's network errors
}

function notFetchable(where: string, error: unknown): DevenvError {
  if (error instanceof DevenvError && error.code !== 'REGISTRY_UNAVAILABLE') return error;
  return new DevenvError('FEATURE_NOT_FOUND', `${where}: cannot be fetched and is not in the Feature cache`, {
    kind: 'external',
    hint: 'Connect to the network once (a later `up` works offline), or check the reference.',
    cause: error,
  });
}

type OciSource = Extract<FeatureSource, { kind: 'oci' }>;
type TarballSource = Extract<FeatureSource, { kind: 'tarball' }>;

/**
 * An OCI Feature: its manifest digest from the reference's digest, the lockfile's `pinned` digest, or the registry
 * (falling back to the digest the tag had last time when the registry cannot be reached); its content from the
 * cache, else the registry.
 */
export async function fetchOciFeature(source: OciSource, pinned: string | undefined, deps: FeatureFetchDeps): Promise<FetchedFeature> {
  const where = `feature \`${source.written}\``;
  let digest = source.ref.digest ?? pinned;
  const tagRef = `${source.resource}:${source.ref.tag ?? 'latest'}`;
  if (digest === undefined) {
    try {
      deps.progress(`Resolving Feature ${source.written}`);
      const registry = await deps.registry();
      const { descriptor, bytes } = await registry.getManifest({ registry: source.ref.registry, repository: source.ref.repository, tag: source.ref.tag ?? 'latest' });
      digest = descriptor.digest;
      writeCachedRef(deps.paths, tagRef, digest);
      if (!cachedFeatureDir(deps.paths, digest)) return await fetchOciContent(source, digest, bytes, deps);
    } catch (error) {
      const cached = readCachedRef(deps.paths, tagRef);
      if (!isUnreachable(error) || !cached || !cachedFeatureDir(deps.paths, cached.digest)) throw notFetchable(where, error);
      deps.warn(`${where}: the registry cannot be reached; using the cached ${cached.digest.slice(0, 19)} it resolved to last time`);
      digest = cached.digest;
    }
  }
  const dir = cachedFeatureDir(deps.paths, digest);
  if (dir) return { dir, digest };
  try {
    return await fetchOciContent(source, digest, undefined, deps);
  } catch (error) {
    throw notFetchable(where, error);
  }
}

async function fetchOciContent(source: OciSource, digest: string, manifestBytes: Buffer | undefined, deps: FeatureFetchDeps): Promise<FetchedFeature> {
  const where = `feature \`${source.written}\``;
  const registry = await deps.registry();
  const ref: ImageReference = { registry: source.ref.registry, repository: source.ref.repository, digest };
  deps.progress(`Fetching Feature ${source.written}`);
  const bytes = manifestBytes ?? (await registry.getManifest(ref)).bytes;
  if (sha256(bytes) !== digest) {
    throw new DevenvError('DIGEST_MISMATCH', `${where}: the manifest does not match ${digest}`, { kind: 'external' });
  }
  let manifest: { layers?: Descriptor[] };
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as { layers?: Descriptor[] };
  } catch (error) {
    throw new DevenvError('FEATURE_INVALID', `${where}: the manifest is not JSON`, { kind: 'external', cause: error });
  }
  const layers = Array.isArray(manifest.layers) ? manifest.layers : [];
  const layer = layers.find((l) => l.mediaType === FEATURE_LAYER_MEDIA_TYPE) ?? (layers.length === 1 ? layers[0] : undefined);
  if (!layer || typeof layer.digest !== 'string') {
    throw new DevenvError('FEATURE_INVALID', `${where}: the artifact has no \`${FEATURE_LAYER_MEDIA_TYPE}\` layer (is it a Feature?)`, { kind: 'external' });
  }
  const { body } = await registry.fetchBlob(ref, layer);
  const blob = await readAll(body, where);
  if (sha256(blob) !== layer.digest) throw new DevenvError('DIGEST_MISMATCH', `${where}: the layer does not match ${layer.digest}`, { kind: 'external' });
  const gzip = blob[0] === 0x1f && blob[1] === 0x8b; // some publishers compress the layer despite its media type
  const dir = await storeFeature(deps.paths, digest, where, (tmp) => extractTar(blob, tmp, where, gzip));
  return { dir, digest };
}

function tarballHeaders(url: URL, env: NodeJS.ProcessEnv): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': 'devenv' };
  // As the devcontainer CLI: GitHub release assets of private repositories need the token.
  if ((url.hostname === 'github.com' || url.hostname === 'api.github.com') && env.GITHUB_TOKEN) headers.authorization = `Bearer ${env.GITHUB_TOKEN}`;
  return headers;
}

/**
 * A tarball Feature: from the cache when the lockfile's `integrity` is there; else downloaded, checked against
 * `integrity` (DIGEST_MISMATCH naming the Feature), and cached. Without a lockfile entry and without network, the
 * digest the URL had last time is used.
 */
export async function fetchTarballFeature(source: TarballSource, integrity: string | undefined, deps: FeatureFetchDeps): Promise<FetchedFeature> {
  const where = `feature \`${source.written}\``;
  if (integrity) {
    const dir = cachedFeatureDir(deps.paths, integrity);
    if (dir) return { dir, digest: integrity };
  }
  let bytes: Buffer;
  try {
    deps.progress(`Downloading Feature ${source.written}`);
    const url = new URL(source.url);
    const response = await deps.fetch(url, { headers: tarballHeaders(url, deps.env), redirect: 'follow' });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new DevenvError(response.status === 404 ? 'FEATURE_NOT_FOUND' : 'REGISTRY_UNAVAILABLE', `${where}: the server answered ${response.status}`, { kind: 'external' });
    }
    bytes = response.body ? await readAll(response.body as unknown as AsyncIterable<Uint8Array>, where) : Buffer.alloc(0);
  } catch (error) {
    const cached = integrity ? undefined : readCachedRef(deps.paths, source.url);
    if (!isUnreachable(error) || !cached || !cachedFeatureDir(deps.paths, cached.digest)) throw notFetchable(where, error);
    deps.warn(`${where}: cannot be downloaded; using the cached copy from last time (${cached.digest.slice(0, 19)})`);
    return { dir: cachedFeatureDir(deps.paths, cached.digest) as string, digest: cached.digest };
  }
  const digest = sha256(bytes);
  if (integrity && digest !== integrity) {
    throw new DevenvError('DIGEST_MISMATCH', `${where}: the download is ${digest}, the lockfile says ${integrity}`, {
      kind: 'external',
      hint: 'The tarball changed since it was locked. If that is expected, run `devenv lock` to accept the new one.',
    });
  }
  const dir = await storeFeature(deps.paths, digest, where, (tmp) => extractTar(bytes, tmp, where, true));
  writeCachedRef(deps.paths, source.url, digest);
  return { dir, digest };
}
