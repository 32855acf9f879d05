/**
 * An in-process OCI registry for unit tests: node:http on 127.0.0.1 (random ports), no network beyond loopback.
 *
 * - auth: none, basic, or bearer (token service on the same server at /token, with scopes and expiry)
 * - manifests by tag and digest, indexes, blobs with Range, an optional redirect of blob GETs to a second
 *   "blob storage" server (which records what headers reach it)
 * - push: POST/PATCH/PUT uploads, HEAD blob, PUT manifest (referenced blobs must exist)
 * - injected failures: any status (401, 404, 429 + Retry-After, 500…), a manifest whose bytes do not match its
 *   digest, a blob cut off half-way
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Descriptor, Platform } from '../../src/image/types.js';

export interface FakeRegistryOptions {
  auth?: 'none' | 'basic' | 'bearer';
  /** user → password, for basic auth and the token service. */
  users?: Record<string, string>;
  /** Anonymous clients may pull (bearer: anonymous tokens grant pull). Default false when auth is not 'none'. */
  anonymousPull?: boolean;
  /** Lifetime of issued tokens (default 300 s). */
  tokenTtlSeconds?: number;
  /** OAuth2 refresh tokens (Docker's identitytoken) → user, accepted by POST /token. */
  identityTokens?: Record<string, string>;
  /** Answer blob GETs with a 307 to the blob storage server. */
  blobRedirect?: boolean;
  /** Which actions a user (undefined: anonymous) has on a repository; default: users all, anonymous per anonymousPull. */
  access?: (user: string | undefined, repository: string) => ('pull' | 'push')[];
  /** The server's clock (token expiry), default Date.now. */
  now?: () => number;
}

/** One request as a server saw it. */
export interface RecordedRequest {
  server: 'registry' | 'storage';
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
}

/** One call of the token service. */
export interface TokenRequestRecord {
  method: string;
  user: string | undefined;
  scopes: string[];
}

/** A failure the servers produce for the next `times` matching requests. */
export interface InjectedFailure {
  server?: 'registry' | 'storage';
  method?: string;
  /** Matched against the path (and query): a substring or a RegExp. */
  path: string | RegExp;
  /** How many requests get it (default 1). */
  times?: number;
  /** 'status' (default): answer `status`; 'wrong-digest': serve a manifest's bytes altered; 'truncate': cut a blob in half. */
  kind?: 'status' | 'wrong-digest' | 'truncate';
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

/** What addImage created. */
export interface FakeImage {
  manifest: Descriptor;
  manifestBytes: Buffer;
  config: Descriptor;
  layers: Descriptor[];
}

export interface FakeRegistry {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, the registry part of references. */
  host: string;
  storageUrl: string;
  requests: RecordedRequest[];
  tokenRequests: TokenRequestRecord[];
  addBlob(content: Buffer | string, mediaType?: string): Descriptor;
  getBlob(digest: string): Buffer | undefined;
  /** Store a manifest (and tag it when `tag` is given). */
  addManifest(repository: string, tag: string | undefined, content: Buffer | object, mediaType: string): Descriptor;
  getManifest(repository: string, reference: string): { bytes: Buffer; mediaType: string } | undefined;
  /** A small image: config + layers (arbitrary bytes) + manifest, tagged. */
  addImage(repository: string, tag: string | undefined, options?: { layers?: (string | Buffer)[]; platform?: Platform; format?: 'oci' | 'docker' }): FakeImage;
  /** An index (OCI or Docker list) over manifests stored with addImage. */
  addIndex(repository: string, tag: string | undefined, images: FakeImage[], format?: 'oci' | 'docker'): Descriptor;
  inject(failure: InjectedFailure): void;
  close(): Promise<void>;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const SERVICE = 'fake-registry';

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ errors: [{ code, message }] });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Start a fake registry (and its blob storage server); `close()` it in afterEach/afterAll. */
export async function startFakeRegistry(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const auth = options.auth ?? 'none';
  const users = options.users ?? {};
  const now = options.now ?? (() => Date.now());
  const ttl = options.tokenTtlSeconds ?? 300;
  const access =
    options.access ?? ((user: string | undefined): ('pull' | 'push')[] => (user !== undefined ? ['pull', 'push'] : options.anonymousPull ? ['pull'] : []));

  const blobs = new Map<string, Buffer>();
  const repos = new Map<string, { tags: Map<string, string>; manifests: Map<string, { bytes: Buffer; mediaType: string }> }>();
  const uploads = new Map<string, { repository: string; chunks: Buffer[] }>();
  const tokens = new Map<string, { grants: Set<string>; expiresAt: number }>();
  const failures: InjectedFailure[] = [];
  const requests: RecordedRequest[] = [];
  const tokenRequests: TokenRequestRecord[] = [];
  let uploadPatches = 0;

  const repo = (name: string): { tags: Map<string, string>; manifests: Map<string, { bytes: Buffer; mediaType: string }> } => {
    let r = repos.get(name);
    if (!r) {
      r = { tags: new Map(), manifests: new Map() };
      repos.set(name, r);
    }
    return r;
  };

  const takeFailure = (server: 'registry' | 'storage', req: IncomingMessage): InjectedFailure | undefined => {
    const url = req.url ?? '';
    const index = failures.findIndex(
      (f) =>
        (f.server ?? 'registry') === server &&
        (f.method === undefined || f.method === req.method) &&
        (typeof f.path === 'string' ? url.includes(f.path) : f.path.test(url)),
    );
    if (index < 0) return undefined;
    const failure = failures[index] as InjectedFailure;
    failure.times = (failure.times ?? 1) - 1;
    if (failure.times <= 0) failures.splice(index, 1);
    return failure;
  };

  const serveBlob = (req: IncomingMessage, res: ServerResponse, bytes: Buffer, digest: string, failure: InjectedFailure | undefined): void => {
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'docker-content-digest': digest,
      'accept-ranges': 'bytes',
    };
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let status = 200;
    let body = bytes;
    if (range) {
      const start = Number(range[1]);
      if (start >= bytes.length) {
        res.writeHead(416, { 'content-range': `bytes */${bytes.length}` });
        res.end();
        return;
      }
      status = 206;
      body = bytes.subarray(start);
      headers['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    }
    headers['content-length'] = body.length;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (failure?.kind === 'truncate') {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
      return;
    }
    res.end(body);
  };

  // ---- the blob storage server (redirect target) ----
  const storage = createServer((req, res) => {
    requests.push({ server: 'storage', method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const failure = takeFailure('storage', req);
    if (failure && (failure.kind ?? 'status') === 'status') {
      sendError(res, failure.status ?? 500, 'INJECTED', 'injected failure', failure.headers);
      return;
    }
    const match = /^\/blobs\/(sha256:[a-f0-9]{64})\?sig=ok$/.exec(req.url ?? '');
    const bytes = match ? blobs.get(match[1] as string) : undefined;
    if (!match || !bytes) {
      sendError(res, 404, 'NOT_FOUND', 'no such object');
      return;
    }
    serveBlob(req, res, bytes, match[1] as string, failure);
  });
  const storagePort = await listen(storage);
  const storageUrl = `http://127.0.0.1:${storagePort}`;

  // ---- the registry ----
  let url = '';

  const challenge = (res: ServerResponse, repository: string | undefined, action: 'pull' | 'push', presented: boolean): void => {
    if (auth === 'basic') {
      sendError(res, 401, 'UNAUTHORIZED', 'authentication required', { 'www-authenticate': `Basic realm="${SERVICE}"` });
      return;
    }
    const scope = repository === undefined ? '' : `,scope="repository:${repository}:${action === 'push' ? 'pull,push' : 'pull'}"`;
    const error = presented ? ',error="insufficient_scope"' : '';
    sendError(res, 401, 'UNAUTHORIZED', 'authentication required', {
      'www-authenticate': `Bearer realm="${url}/token",service="${SERVICE}"${scope}${error}`,
    });
  };

  const basicUser = (header: string | undefined): string | undefined | null => {
    if (!header?.startsWith('Basic ')) return undefined;
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    return colon > 0 && users[user] !== undefined && users[user] === decoded.slice(colon + 1) ? user : null;
  };

  /** True when the request may go on; otherwise the 401 has been sent. */
  const authorize = (req: IncomingMessage, res: ServerResponse, repository: string | undefined, action: 'pull' | 'push'): boolean => {
    if (auth === 'none') return true;
    const header = req.headers.authorization;
    if (auth === 'basic') {
      const user = basicUser(header);
      if (user === null) {
        challenge(res, repository, action, true);
        return false;
      }
      if (repository === undefined ? user !== undefined : access(user, repository).includes(action)) return true;
      challenge(res, repository, action, header !== undefined);
      return false;
    }
    const token = header?.startsWith('Bearer ') ? tokens.get(header.slice(7)) : undefined;
    if (token && token.expiresAt > now() && (repository === undefined || token.grants.has(`${repository}:${action}`))) return true;
    challenge(res, repository, action, header !== undefined);
    return false;
  };

  const issueToken = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const parsed = new URL(req.url ?? '/', url);
    let user: string | undefined;
    let scopes: string[];
    let service: string | null;
    if (req.method === 'POST') {
      const form = new URLSearchParams((await readBody(req)).toString('utf8'));
      service = form.get('service');
      scopes = (form.get('scope') ?? '').split(' ').filter((s) => s !== '');
      const known = form.get('grant_type') === 'refresh_token' ? options.identityTokens?.[form.get('refresh_token') ?? ''] : undefined;
      if (known === undefined) {
        tokenRequests.push({ method: 'POST', user: undefined, scopes });
        sendError(res, 401, 'UNAUTHORIZED', 'invalid refresh token');
        return;
      }
      user = known;
    } else {
      service = parsed.searchParams.get('service');
      scopes = parsed.searchParams.getAll('scope');
      const basic = basicUser(req.headers.authorization);
      if (basic === null) {
        tokenRequests.push({ method: 'GET', user: undefined, scopes });
        sendError(res, 401, 'UNAUTHORIZED', 'incorrect username or password');
        return;
      }
      user = basic;
    }
    tokenRequests.push({ method: req.method ?? '', user, scopes });
    if (service !== SERVICE) {
      sendError(res, 400, 'INVALID_SERVICE', `unknown service ${service ?? ''}`);
      return;
    }
    const grants = new Set<string>();
    for (const scope of scopes) {
      const match = /^repository:(.+):([a-z,*]+)$/.exec(scope);
      if (!match) continue;
      const allowed = access(user, match[1] as string);
      for (const action of (match[2] as string).split(',')) {
        if (allowed.includes(action as 'pull' | 'push')) grants.add(`${match[1]}:${action}`);
      }
    }
    const token = randomBytes(16).toString('hex');
    tokens.set(token, { grants, expiresAt: now() + ttl * 1000 });
    const body = JSON.stringify(
      req.method === 'POST' ? { access_token: token, expires_in: ttl } : { token, access_token: token, expires_in: ttl, issued_at: new Date(now()).toISOString() },
    );
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const handleManifest = async (req: IncomingMessage, res: ServerResponse, repository: string, reference: string, failure?: InjectedFailure): Promise<void> => {
    if (req.method === 'PUT') {
      if (!authorize(req, res, repository, 'push')) return;
      const bytes = await readBody(req);
      const digest = sha256(bytes);
      const mediaType = req.headers['content-type'] ?? '';
      if (reference.startsWith('sha256:') && reference !== digest) {
        sendError(res, 400, 'DIGEST_INVALID', 'provided digest did not match uploaded content');
        return;
      }
      const json = JSON.parse(bytes.toString('utf8')) as { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
      const missingBlob = [json.config, ...(json.layers ?? [])].find((d) => d !== undefined && !blobs.has(d.digest));
      if (missingBlob) {
        sendError(res, 400, 'MANIFEST_BLOB_UNKNOWN', `blob unknown to registry: ${missingBlob.digest}`);
        return;
      }
      const missingManifest = (json.manifests ?? []).find((d) => !repo(repository).manifests.has(d.digest));
      if (missingManifest) {
        sendError(res, 400, 'MANIFEST_UNKNOWN', `manifest unknown: ${missingManifest.digest}`);
        return;
      }
      repo(repository).manifests.set(digest, { bytes, mediaType });
      if (!reference.startsWith('sha256:')) repo(repository).tags.set(reference, digest);
      res.writeHead(201, { location: `/v2/${repository}/manifests/${digest}`, 'docker-content-digest': digest, 'content-length': 0 });
      res.end();
      return;
    }
    if (!authorize(req, res, repository, 'pull')) return;
    const r = repos.get(repository);
    const digest = reference.startsWith('sha256:') ? reference : r?.tags.get(reference);
    const manifest = digest === undefined ? undefined : r?.manifests.get(digest);
    if (!manifest || digest === undefined) {
      sendError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      return;
    }
    const bytes = failure?.kind === 'wrong-digest' ? Buffer.concat([manifest.bytes, Buffer.from(' ')]) : manifest.bytes;
    res.writeHead(200, { 'content-type': manifest.mediaType, 'docker-content-digest': digest, 'content-length': bytes.length });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  };

  const handleBlob = (req: IncomingMessage, res: ServerResponse, repository: string, digest: string, failure?: InjectedFailure): void => {
    if (!authorize(req, res, repository, 'pull')) return;
    const bytes = blobs.get(digest);
    if (!bytes) {
      if (req.method === 'HEAD') {
        res.writeHead(404);
        res.end();
      } else sendError(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
      return;
    }
    if (options.blobRedirect && req.method === 'GET') {
      res.writeHead(307, { location: `${storageUrl}/blobs/${digest}?sig=ok`, 'content-length': 0 });
      res.end();
      return;
    }
    serveBlob(req, res, bytes, digest, failure);
  };

  const handleUpload = async (req: IncomingMessage, res: ServerResponse, repository: string, id: string, query: URLSearchParams): Promise<void> => {
    if (!authorize(req, res, repository, 'push')) return;
    const finish = (upload: { repository: string; chunks: Buffer[] }, digest: string | null): void => {
      const bytes = Buffer.concat(upload.chunks);
      if (digest === null || sha256(bytes) !== digest) {
        sendError(res, 400, 'DIGEST_INVALID', 'provided digest did not match uploaded content');
        return;
      }
      blobs.set(digest, bytes);
      res.writeHead(201, { location: `/v2/${repository}/blobs/${digest}`, 'docker-content-digest': digest, 'content-length': 0 });
      res.end();
    };
    if (req.method === 'POST' && id === '') {
      const body = await readBody(req);
      if (query.get('digest') !== null) {
        finish({ repository, chunks: [body] }, query.get('digest'));
        return;
      }
      const uuid = randomBytes(8).toString('hex');
      uploads.set(uuid, { repository, chunks: [] });
      res.writeHead(202, { location: `/v2/${repository}/blobs/uploads/${uuid}`, range: '0-0', 'docker-upload-uuid': uuid, 'content-length': 0 });
      res.end();
      return;
    }
    const upload = uploads.get(id);
    if (!upload || upload.repository !== repository) {
      sendError(res, 404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
      return;
    }
    const body = await readBody(req);
    upload.chunks.push(body);
    if (req.method === 'PATCH') {
      uploadPatches += 1;
      const size = upload.chunks.reduce((n, c) => n + c.length, 0);
      res.writeHead(202, {
        location: `${url}/v2/${repository}/blobs/uploads/${id}?_state=${uploadPatches}`,
        range: `0-${Math.max(0, size - 1)}`,
        'docker-upload-uuid': id,
        'content-length': 0,
      });
      res.end();
      return;
    }
    if (req.method === 'PUT') {
      uploads.delete(id);
      finish(upload, query.get('digest'));
      return;
    }
    sendError(res, 405, 'UNSUPPORTED', 'method not allowed');
  };

  const registry = createServer((req, res) => {
    requests.push({ server: 'registry', method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const failure = takeFailure('registry', req);
    if (failure && (failure.kind ?? 'status') === 'status') {
      const status = failure.status ?? 500;
      if (failure.body !== undefined) {
        res.writeHead(status, { 'content-length': Buffer.byteLength(failure.body), ...failure.headers });
        res.end(failure.body);
      } else sendError(res, status, 'INJECTED', `injected ${status}`, failure.headers);
      return;
    }
    const parsed = new URL(req.url ?? '/', url);
    const path = parsed.pathname;
    const route = async (): Promise<void> => {
      if (path === '/token') return issueToken(req, res);
      if (path === '/v2/' || path === '/v2') {
        if (!authorize(req, res, undefined, 'pull')) return;
        res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
        res.end('{}');
        return;
      }
      let m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(path);
      if (m) return handleUpload(req, res, m[1] as string, m[2] as string, parsed.searchParams);
      m = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(path);
      if (m) return handleBlob(req, res, m[1] as string, m[2] as string, failure);
      m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
      if (m) return handleManifest(req, res, m[1] as string, m[2] as string, failure);
      sendError(res, 404, 'NOT_FOUND', `no route for ${req.method} ${path}`);
    };
    route().catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'FAKE_BUG', String(error));
      else res.destroy();
    });
  });
  const port = await listen(registry);
  url = `http://127.0.0.1:${port}`;

  const addBlob = (content: Buffer | string, mediaType = 'application/octet-stream'): Descriptor => {
    const bytes = Buffer.from(content);
    const digest = sha256(bytes);
    blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.length };
  };

  const addManifest = (repository: string, tag: string | undefined, content: Buffer | object, mediaType: string): Descriptor => {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(JSON.stringify(content));
    const digest = sha256(bytes);
    repo(repository).manifests.set(digest, { bytes, mediaType });
    if (tag !== undefined) repo(repository).tags.set(tag, digest);
    return { mediaType, digest, size: bytes.length };
  };

  return {
    url,
    host: `127.0.0.1:${port}`,
    storageUrl,
    requests,
    tokenRequests,
    addBlob,
    getBlob: (digest) => blobs.get(digest),
    addManifest,
    getManifest: (repository, reference) => {
      const r = repos.get(repository);
      const digest = reference.startsWith('sha256:') ? reference : r?.tags.get(reference);
      return digest === undefined ? undefined : r?.manifests.get(digest);
    },
    addImage(repository, tag, imageOptions = {}) {
      const docker = imageOptions.format === 'docker';
      const platform = imageOptions.platform ?? { os: 'linux', architecture: 'amd64' };
      const layers = (imageOptions.layers ?? ['layer one']).map((content) =>
        addBlob(content, docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip'),
      );
      const configJson = {
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: { Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      };
      const config = addBlob(JSON.stringify(configJson), docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json');
      const mediaType = docker ? DOCKER_MANIFEST : OCI_MANIFEST;
      const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config, layers }));
      const manifest = { ...addManifest(repository, tag, manifestBytes, mediaType), platform };
      return { manifest, manifestBytes, config, layers };
    },
    addIndex(repository, tag, images, format = 'oci') {
      const mediaType = format === 'docker' ? DOCKER_LIST : OCI_INDEX;
      const manifests = images.map((image) => ({
        mediaType: image.manifest.mediaType,
        digest: image.manifest.digest,
        size: image.manifest.size,
        platform: image.manifest.platform,
      }));
      return addManifest(repository, tag, { schemaVersion: 2, mediaType, manifests }, mediaType);
    },
    inject(failure) {
      failures.push({ ...failure });
    },
    async close() {
      await Promise.all([closeServer(registry), closeServer(storage)]);
    },
  };
}
