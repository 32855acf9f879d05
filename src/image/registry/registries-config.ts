import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isIPv4, isIPv6 } from 'node:net';

import { DevenvError, isErrnoCode } from '../../errors.js';
import { normalizeRegistryServer } from './credentials.js';

/** Settings for one registry in registries.json. */
export interface RegistrySettings {
  /** Pull-through mirrors tried in order before the registry itself (pulls only). */
  mirrors: string[];
  /** Allow plain HTTP to this registry (HTTPS is still tried first). */
  insecure: boolean;
}

/** `{ "registries": { "docker.io": { "mirrors": ["https://mirror.internal"], "insecure": false } } }` */
export interface RegistriesConfig {
  registries: Record<string, RegistrySettings>;
}

/** One place requests for a registry can go. */
export interface RegistryEndpoint {
  /** The registry this endpoint serves (normalised: "docker.io"). */
  registry: string;
  /** Scheme, host and optional path prefix, no trailing slash: `https://registry-1.docker.io`. */
  baseUrl: string;
  /** Whether `baseUrl` may be replaced by plain HTTP when HTTPS cannot connect (loopback or `insecure`). */
  allowHttpFallback: boolean;
  mirror: boolean;
  /** The name credentials are looked up under: the registry, or the mirror's host. */
  credentialsName: string;
}

export const EMPTY_REGISTRIES_CONFIG: RegistriesConfig = { registries: {} };

const DOCKER_HUB_ENDPOINT = 'https://registry-1.docker.io';

/** `DEVENV_REGISTRIES_CONF`, else `/etc/devenv/registries.json` for root, else `$XDG_CONFIG_HOME/devenv/registries.json`. */
export function registriesConfigPath(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string {
  if (env.DEVENV_REGISTRIES_CONF) return env.DEVENV_REGISTRIES_CONF;
  if (uid === 0) return '/etc/devenv/registries.json';
  const configHome = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(configHome, 'devenv', 'registries.json');
}

/** `127.0.0.0/8`, `::1` and `localhost`, with or without a port (`[::1]:5000`, `localhost:5000`). */
export function isLoopbackHost(hostWithPort: string): boolean {
  let host = hostWithPort.toLowerCase();
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']') < 0 ? undefined : host.indexOf(']'));
  else if (host.split(':').length === 2) host = host.slice(0, host.indexOf(':'));
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

function bad(path: string, what: string): DevenvError {
  return new DevenvError('CONFIG_INVALID', `read registries config \`${path}\`: ${what}`, {
    hint: 'Expected { "registries": { "<registry>": { "mirrors": ["https://…"], "insecure": false } } }.',
  });
}

function parseMirror(path: string, registry: string, text: string, insecureHosts: Set<string>): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw bad(path, `mirror \`${text}\` of ${registry} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad(path, `mirror \`${text}\` of ${registry} must be http(s)`);
  if (url.protocol === 'http:' && !isLoopbackHost(url.host) && !insecureHosts.has(registry) && !insecureHosts.has(url.host)) {
    throw bad(path, `mirror \`${text}\` of ${registry} uses plain HTTP; mark ${registry} or ${url.host} "insecure": true to allow it`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** Validate registries.json text; `path` only names the file in errors. */
export function parseRegistriesConfig(text: string, path: string): RegistriesConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DevenvError('CONFIG_PARSE', `read registries config \`${path}\`: not valid JSON`, { hint: `Fix ${path}.`, cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(path, 'expected a JSON object');
  const raw = (value as { registries?: unknown }).registries;
  if (raw === undefined) return { registries: {} };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(path, '`registries` must be an object');

  const entries = Object.entries(raw as Record<string, unknown>).map(([name, entry]) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad(path, `registries.${name} must be an object`);
    const { mirrors = [], insecure = false } = entry as { mirrors?: unknown; insecure?: unknown };
    if (!Array.isArray(mirrors) || !mirrors.every((m) => typeof m === 'string')) throw bad(path, `registries.${name}.mirrors must be a list of URLs`);
    if (typeof insecure !== 'boolean') throw bad(path, `registries.${name}.insecure must be true or false`);
    return { name: normalizeRegistryServer(name), mirrors: mirrors as string[], insecure };
  });
  const insecureHosts = new Set(entries.filter((e) => e.insecure).map((e) => e.name));
  const registries: Record<string, RegistrySettings> = {};
  for (const entry of entries) {
    registries[entry.name] = {
      insecure: entry.insecure,
      mirrors: entry.mirrors.map((mirror) => parseMirror(path, entry.name, mirror, insecureHosts)),
    };
  }
  return { registries };
}

/** Read the registries config; a missing file is an empty config. */
export function loadRegistriesConfig(options: { env?: NodeJS.ProcessEnv; uid?: number; path?: string } = {}): RegistriesConfig {
  const path = options.path ?? registriesConfigPath(options.env, options.uid);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT') || isErrnoCode(error, 'ENOTDIR')) return EMPTY_REGISTRIES_CONFIG;
    throw new DevenvError('CONFIG_INVALID', `read registries config \`${path}\`: cannot read it`, { kind: 'external', cause: error });
  }
  return parseRegistriesConfig(text, path);
}

function hostEndpoint(registry: string, config: RegistriesConfig): RegistryEndpoint {
  const baseUrl = registry === 'docker.io' ? DOCKER_HUB_ENDPOINT : `https://${registry}`;
  const allowHttpFallback = isLoopbackHost(registry) || config.registries[registry]?.insecure === true;
  return { registry, baseUrl, allowHttpFallback, mirror: false, credentialsName: registry };
}

/**
 * Where to send requests for `registry`: for pulls its mirrors in order, then the registry; for pushes only the
 * registry. A mirror is used with the scheme the config gives it (HTTPS when none); the registry itself gets
 * HTTPS, with plain HTTP as the fallback when it is a loopback host or marked insecure.
 */
export function registryEndpoints(registry: string, config: RegistriesConfig, purpose: 'pull' | 'push'): RegistryEndpoint[] {
  const endpoints: RegistryEndpoint[] = [];
  if (purpose === 'pull') {
    for (const mirror of config.registries[registry]?.mirrors ?? []) {
      const url = new URL(mirror);
      endpoints.push({ registry, baseUrl: mirror, allowHttpFallback: false, mirror: true, credentialsName: normalizeRegistryServer(url.host) });
    }
  }
  endpoints.push(hostEndpoint(registry, config));
  return endpoints;
}
