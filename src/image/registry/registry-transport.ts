import { DevenvError } from '../../errors.js';
import type { Logger } from '../../host/logger.js';
import { parseAuthChallenges, type AuthChallenge } from './auth-challenge.js';
import type { CredentialStore, RegistryCredentials } from './credentials.js';
import type { RegistryEndpoint } from './registries-config.js';
import { registryUnreachableError } from './registry-errors.js';
import { isNetworkError, sendWithRetry, type RetryPolicy } from './retry.js';
import { fetchBearerToken, type BearerToken } from './token-auth.js';

/** What the transport needs from its surroundings; all injectable for tests. */
export interface TransportOptions {
  fetch: typeof fetch;
  retry: RetryPolicy;
  now: () => number;
  userAgent: string;
  credentials: CredentialStore;
  logger?: Logger;
}

/** One HTTP request to a registry endpoint. */
export interface RegistryRequest {
  endpoint: RegistryEndpoint;
  /** The repository the request is about (for the token scope); none for `/v2/`. */
  repository?: string;
  actions: ('pull' | 'push')[];
  method: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT';
  /** A path under the endpoint (`/v2/…`) or an absolute URL (an upload location). */
  target: string;
  headers?: Record<string, string>;
  /** A buffer can be sent again (retries, auth); a stream is sent once. */
  body?: Buffer | AsyncIterable<Uint8Array>;
  /** Prefix of error messages: ``pull `debian:12`: blob sha256:… ``. */
  operation: string;
  signal?: AbortSignal;
}

/** Sends registry requests: picks the scheme, answers auth challenges, retries, follows redirects safely. */
export interface RegistryTransport {
  request(request: RegistryRequest): Promise<Response>;
  /** Whether the last credentials used for `endpoint` came from a credential store (for error hints). */
  hasCredentials(endpoint: RegistryEndpoint, repository?: string): boolean;
}

/** What an endpoint asked for, learned from its first challenge. */
interface EndpointAuth {
  scheme?: 'bearer' | 'basic';
  realm?: string;
  service?: string;
  tokens: Map<string, Promise<BearerToken>>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
const PROBE_TIMEOUT_MS = 10_000;

function scopeFor(request: RegistryRequest): string | undefined {
  return request.repository === undefined ? undefined : `repository:${request.repository}:${request.actions.join(',')}`;
}

function isRepeatable(body: RegistryRequest['body']): boolean {
  return body === undefined || Buffer.isBuffer(body);
}

function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

/** Create the transport one RegistryClient uses; it keeps schemes, tokens and credentials for its lifetime. */
export function createRegistryTransport(options: TransportOptions): RegistryTransport {
  const bases = new Map<string, Promise<string>>();
  const auths = new Map<string, EndpointAuth>();
  const credentials = new Map<string, Promise<RegistryCredentials | undefined>>();
  const found = new Set<string>();

  const credentialsKey = (endpoint: RegistryEndpoint, repository?: string): string => `${endpoint.credentialsName}|${repository ?? ''}`;
  const credentialsFor = (endpoint: RegistryEndpoint, repository?: string): Promise<RegistryCredentials | undefined> => {
    const key = credentialsKey(endpoint, repository);
    let pending = credentials.get(key);
    if (!pending) {
      pending = options.credentials.get(endpoint.credentialsName, repository).then((value) => {
        if (value) found.add(key);
        return value;
      });
      credentials.set(key, pending);
    }
    return pending;
  };

  const authFor = (endpoint: RegistryEndpoint): EndpointAuth => {
    let auth = auths.get(endpoint.baseUrl);
    if (!auth) {
      auth = { tokens: new Map() };
      auths.set(endpoint.baseUrl, auth);
    }
    return auth;
  };

  /** HTTPS unless it cannot connect and the endpoint allows plain HTTP; decided once per endpoint. */
  const baseFor = (endpoint: RegistryEndpoint): Promise<string> => {
    if (!endpoint.allowHttpFallback) return Promise.resolve(endpoint.baseUrl);
    let pending = bases.get(endpoint.baseUrl);
    if (!pending) {
      pending = options
        .fetch(`${endpoint.baseUrl}/v2/`, {
          method: 'GET',
          headers: { 'user-agent': options.userAgent },
          redirect: 'manual',
          signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
        })
        .then(
          async (response) => {
            await response.body?.cancel().catch(() => undefined);
            return endpoint.baseUrl;
          },
          (error: unknown) => {
            if (!isNetworkError(error) && !(error instanceof Error && error.name === 'TimeoutError')) throw error;
            const http = endpoint.baseUrl.replace(/^https:/, 'http:');
            options.logger?.debug(`${endpoint.baseUrl} does not answer HTTPS; using ${http}`);
            return http;
          },
        );
      bases.set(endpoint.baseUrl, pending);
    }
    return pending;
  };

  const getToken = async (endpoint: RegistryEndpoint, request: RegistryRequest, scopes: string[], fresh: boolean): Promise<string> => {
    const auth = authFor(endpoint);
    const key = scopes.join(' ');
    let pending = fresh ? undefined : auth.tokens.get(key);
    if (pending) {
      const cached = await pending.catch(() => undefined);
      if (cached && cached.expiresAt > options.now()) return cached.token;
    }
    pending = (async () =>
      fetchBearerToken({
        realm: auth.realm as string,
        ...(auth.service === undefined ? {} : { service: auth.service }),
        scopes,
        credentials: await credentialsFor(endpoint, request.repository),
        allowHttp: endpoint.allowHttpFallback,
        operation: request.operation,
        registry: endpoint.registry,
        fetch: options.fetch,
        retry: options.retry,
        now: options.now,
        userAgent: options.userAgent,
      }))();
    auth.tokens.set(key, pending);
    const mine = pending;
    mine.catch(() => {
      if (auth.tokens.get(key) === mine) auth.tokens.delete(key);
    });
    return (await pending).token;
  };

  const basicHeader = async (endpoint: RegistryEndpoint, repository?: string): Promise<string | undefined> => {
    const creds = await credentialsFor(endpoint, repository);
    if (!creds || creds.identityToken !== undefined) return undefined;
    return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  };

  /** The Authorization header to send before any challenge, from what earlier challenges taught. */
  const knownAuthorization = async (request: RegistryRequest): Promise<string | undefined> => {
    const auth = authFor(request.endpoint);
    if (auth.scheme === 'basic') return basicHeader(request.endpoint, request.repository);
    if (auth.scheme === 'bearer') {
      const scope = scopeFor(request);
      return `Bearer ${await getToken(request.endpoint, request, scope === undefined ? [] : [scope], false)}`;
    }
    return undefined;
  };

  /** Answer a 401's challenges; undefined when there is nothing better to send than what was sent. */
  const answerChallenges = async (request: RegistryRequest, challenges: AuthChallenge[], sent: string | undefined): Promise<string | undefined> => {
    const auth = authFor(request.endpoint);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      auth.scheme = 'bearer';
      auth.realm = bearer.params.realm;
      auth.service = bearer.params.service;
      const scopes = [scopeFor(request), bearer.params.scope].filter((s): s is string => s !== undefined && s !== '');
      const unique = [...new Set(scopes)];
      // A token we sent was refused (expired, or too narrow): ask once more, bypassing the cache.
      return `Bearer ${await getToken(request.endpoint, request, unique, sent !== undefined)}`;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      auth.scheme = 'basic';
      const header = await basicHeader(request.endpoint, request.repository);
      return header === sent ? undefined : header;
    }
    return undefined;
  };

  /** fetch with redirects followed by hand (GET/HEAD only): Authorization is dropped when the origin changes. */
  const fetchFollowing = async (url: URL, init: RequestInit & { headers: Record<string, string> }): Promise<Response> => {
    let current = url;
    const headers = { ...init.headers };
    for (let hops = 0; ; hops += 1) {
      const response = await options.fetch(current, { ...init, headers, redirect: 'manual' });
      const location = response.headers.get('location');
      if ((init.method !== 'GET' && init.method !== 'HEAD') || !REDIRECT_STATUSES.has(response.status) || !location) return response;
      await response.body?.cancel().catch(() => undefined);
      if (hops >= MAX_REDIRECTS) throw new DevenvError('REGISTRY_PROTOCOL', `redirected more than ${MAX_REDIRECTS} times (last to ${current.host})`, { kind: 'external' });
      const next = new URL(location, current);
      if (next.origin !== current.origin) delete headers.authorization;
      current = next;
    }
  };

  const send = async (request: RegistryRequest, url: URL, authorization: string | undefined): Promise<Response> => {
    const headers: Record<string, string> = { 'user-agent': options.userAgent, ...request.headers };
    if (authorization !== undefined) headers.authorization = authorization;
    const init: RequestInit & { headers: Record<string, string> } = { method: request.method, headers };
    if (request.body !== undefined) init.body = request.body;
    if (request.body !== undefined && !Buffer.isBuffer(request.body)) init.duplex = 'half';
    if (request.signal) init.signal = request.signal;
    const once = (): Promise<Response> => fetchFollowing(url, init);
    try {
      return isRepeatable(request.body) ? await sendWithRetry(once, options.retry, request.signal) : await once();
    } catch (error) {
      if (error instanceof DevenvError) throw new DevenvError(error.code, `${request.operation}: ${error.message}`, { kind: error.kind, cause: error });
      if (isAbort(error, request.signal)) throw error;
      throw registryUnreachableError(request.operation, url.href, error);
    }
  };

  return {
    async request(request) {
      const base = await baseFor(request.endpoint);
      const url = new URL(/^https?:\/\//.test(request.target) ? request.target : `${base}${request.target}`);
      // An upload location on another host (blob storage) gets no registry credentials, as with redirects.
      if (url.origin !== new URL(base).origin) return send(request, url, undefined);
      let authorization = await knownAuthorization(request);
      let response = await send(request, url, authorization);
      if (response.status !== 401 || !isRepeatable(request.body)) return response;
      const challenges = parseAuthChallenges(response.headers.get('www-authenticate') ?? '');
      const answer = await answerChallenges(request, challenges, authorization);
      if (answer === undefined) return response;
      await response.body?.cancel().catch(() => undefined);
      authorization = answer;
      response = await send(request, url, authorization);
      return response;
    },
    hasCredentials(endpoint, repository) {
      return found.has(credentialsKey(endpoint, repository));
    },
  };
}
