import { DevenvError } from '../../errors.js';
import type { Logger } from '../../host/logger.js';
import { normalizeRegistryServer, staticCredentialStore } from './credentials.js';
import { loadRegistriesConfig, registryEndpoints, type RegistriesConfig, type RegistryEndpoint } from './registries-config.js';
import { readRegistryErrorDetail, registryStatusError } from './registry-errors.js';
import { createRegistryTransport } from './registry-transport.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';

/** Injectable parts of the login check (tests); the defaults read registries.json and use the network. */
export interface LoginOptions {
  config?: RegistriesConfig;
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  now?: () => number;
  userAgent?: string;
  logger?: Logger;
}

/** The outcome of a login check. */
export interface LoginResult {
  /** The registry as devenv names it (`docker.io`, `127.0.0.1:5000`): the key to save the credentials under. */
  registry: string;
  /** False when the registry let us in without asking for credentials, so they could not be checked. */
  verified: boolean;
}

/**
 * Check credentials against a registry as `devenv login` does: GET /v2/ and answer its challenge (a token from
 * its token service for `Bearer`, the credentials themselves for `Basic`). Throws REGISTRY_UNAUTHORIZED when the
 * registry refuses them. Saving them is the caller's business (saveCredentials).
 */
export async function loginToRegistry(server: string, username: string, password: string, options: LoginOptions = {}): Promise<LoginResult> {
  const registry = normalizeRegistryServer(server).split('/')[0] as string;
  const operation = `login \`${registry}\``;
  const endpoint = registryEndpoints(registry, options.config ?? loadRegistriesConfig(), 'push')[0] as RegistryEndpoint;
  const transport = createRegistryTransport({
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    now: options.now ?? (() => Date.now()),
    userAgent: options.userAgent ?? 'devenv',
    credentials: staticCredentialStore({ [registry]: { username, password } }),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const response = await transport.request({ endpoint, actions: [], method: 'GET', target: '/v2/', operation });
  const detail = response.ok ? '' : await readRegistryErrorDetail(response);
  await response.body?.cancel().catch(() => undefined);
  if (response.ok) return { registry, verified: transport.hasCredentials(endpoint) };
  if (response.status === 401 || response.status === 403) {
    throw new DevenvError(
      'REGISTRY_UNAUTHORIZED',
      `${operation}: the registry refused the credentials of \`${username}\` (${response.status}${detail ? `: ${detail}` : ''})`,
      { hint: 'Check the user name and the password or access token.' },
    );
  }
  throw registryStatusError(response.status, detail, { operation, registry, authenticated: true, object: 'registry API' });
}
