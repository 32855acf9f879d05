import { DevenvError } from '../../errors.js';
import type { RegistryCredentials } from './credentials.js';
import { isLoopbackHost } from './registries-config.js';
import { readRegistryErrorDetail, registryUnreachableError } from './registry-errors.js';
import { sendWithRetry, type RetryPolicy } from './retry.js';

/** A bearer token and when to stop using it. */
export interface BearerToken {
  token: string;
  /** Epoch milliseconds, a little before the server's expiry. */
  expiresAt: number;
}

/** One request to a token endpoint (the `realm` of a `Bearer` challenge). */
export interface TokenRequest {
  realm: string;
  service?: string;
  /** `repository:library/debian:pull`; none for a plain login check. */
  scopes: string[];
  credentials?: RegistryCredentials;
  /** Whether a plain-HTTP realm is acceptable (the registry itself is loopback or insecure). */
  allowHttp: boolean;
  /** Prefix of error messages: ``pull `debian:12` ``. */
  operation: string;
  /** The registry, for the `devenv login` hint. */
  registry: string;
  fetch: typeof fetch;
  retry: RetryPolicy;
  now: () => number;
  userAgent: string;
}

const DEFAULT_TOKEN_SECONDS = 60;

function tokenLifetimeMs(expiresIn: unknown): number {
  const seconds = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_SECONDS;
  const ms = seconds * 1000;
  return ms - Math.min(10_000, ms / 4);
}

function hasPassword(credentials: RegistryCredentials | undefined): credentials is RegistryCredentials {
  return credentials !== undefined && credentials.identityToken === undefined && (credentials.username !== '' || credentials.password !== '');
}

/**
 * Get a token from a registry's token service (distribution's token auth): GET `realm?service=…&scope=…` with
 * basic credentials when we have them, or the OAuth2 refresh-token POST when the credentials are an identity token.
 */
export async function fetchBearerToken(request: TokenRequest): Promise<BearerToken> {
  let realm: URL;
  try {
    realm = new URL(request.realm);
  } catch {
    throw new DevenvError('REGISTRY_PROTOCOL', `${request.operation}: the registry's token realm \`${request.realm}\` is not a URL`, { kind: 'external' });
  }
  if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && (request.allowHttp || isLoopbackHost(realm.host)))) {
    throw new DevenvError('REGISTRY_PROTOCOL', `${request.operation}: the registry's token realm \`${request.realm}\` is not HTTPS`, {
      kind: 'external',
      hint: `Mark ${request.registry} "insecure" in registries.json if plain HTTP is intended.`,
    });
  }

  const headers: Record<string, string> = { 'user-agent': request.userAgent, accept: 'application/json' };
  let init: RequestInit;
  const identityToken = request.credentials?.identityToken;
  if (identityToken !== undefined) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: identityToken, client_id: 'devenv' });
    if (request.service) form.set('service', request.service);
    if (request.scopes.length > 0) form.set('scope', request.scopes.join(' '));
    headers['content-type'] = 'application/x-www-form-urlencoded';
    init = { method: 'POST', headers, body: form.toString(), redirect: 'follow' };
  } else {
    if (request.service) realm.searchParams.set('service', request.service);
    for (const scope of request.scopes) realm.searchParams.append('scope', scope);
    if (hasPassword(request.credentials)) {
      headers.authorization = `Basic ${Buffer.from(`${request.credentials.username}:${request.credentials.password}`).toString('base64')}`;
    }
    init = { method: 'GET', headers, redirect: 'follow' };
  }

  let response: Response;
  try {
    response = await sendWithRetry(() => request.fetch(realm, init), request.retry);
  } catch (error) {
    throw registryUnreachableError(request.operation, realm.href, error);
  }
  if (response.status === 401 || response.status === 403) {
    const detail = await readRegistryErrorDetail(response);
    const who = request.credentials ? `the credentials${request.credentials.username ? ` of \`${request.credentials.username}\`` : ''}` : 'anonymous access';
    throw new DevenvError(
      'REGISTRY_UNAUTHORIZED',
      `${request.operation}: the token service of ${request.registry} refused ${who} (${response.status}${detail ? `: ${detail}` : ''})`,
      { hint: `Run \`devenv login ${request.registry}\`${request.credentials ? ' with the right user name and password' : ''}.` },
    );
  }
  if (!response.ok) {
    const detail = await readRegistryErrorDetail(response);
    throw new DevenvError(
      response.status >= 500 || response.status === 429 ? 'REGISTRY_UNAVAILABLE' : 'REGISTRY_PROTOCOL',
      `${request.operation}: the token service of ${request.registry} answered ${response.status}${detail ? ` (${detail})` : ''}`,
      { kind: 'external', hint: 'Try again later.' },
    );
  }
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    body = (await response.json()) as typeof body;
  } catch (error) {
    throw new DevenvError('REGISTRY_PROTOCOL', `${request.operation}: the token service of ${request.registry} answered something that is not JSON`, {
      kind: 'external',
      cause: error,
    });
  }
  const token = typeof body.token === 'string' && body.token !== '' ? body.token : body.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new DevenvError('REGISTRY_PROTOCOL', `${request.operation}: the token service of ${request.registry} answered without a token`, { kind: 'external' });
  }
  return { token, expiresAt: request.now() + tokenLifetimeMs(body.expires_in) };
}
