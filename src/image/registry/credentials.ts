import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

import { DevenvError, isErrnoCode } from '../../errors.js';
import { writeJsonAtomic } from '../../host/atomic-file.js';

/** A user name and password (or token) for one registry. */
export interface RegistryCredentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (Docker's `identitytoken`), sent to the token endpoint instead of the password. */
  identityToken?: string;
}

/** Where the registry client gets credentials; asked only when a registry challenges. */
export interface CredentialStore {
  /** Credentials for `registry` (normalised host[:port]); `repository` lets repository-scoped entries win. */
  get(registry: string, repository?: string): Promise<RegistryCredentials | undefined>;
}

/** Options of the file-backed credential store and of save/remove. */
export interface CredentialFilesOptions {
  env?: NodeJS.ProcessEnv;
  /** Home directory (default $HOME, then os.homedir()). */
  home?: string;
  /** How long a `docker-credential-*` helper may take (default 10 s). */
  helperTimeoutMs?: number;
  /** Told about helpers that are missing, fail to start or time out; the lookup then goes on without them. */
  onWarning?: (message: string) => void;
}

/** The JSON of auth.json / ~/.docker/config.json, as far as credentials go. */
interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
const DOCKER_HUB_HELPER_SERVER = 'https://index.docker.io/v1/';

/**
 * A server as people write it (`https://index.docker.io/v1/`, `ghcr.io/`, `127.0.0.1:5000`) → the registry name
 * devenv uses (`docker.io`, `ghcr.io`, `127.0.0.1:5000`). A path after a bare host is kept (`quay.io/org` is a
 * repository-scoped entry, as in containers-auth.json); a URL's path is not.
 */
export function normalizeRegistryServer(server: string): string {
  let text = server.trim();
  const hadScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  text = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = text.indexOf('/');
  let host = (slash < 0 ? text : text.slice(0, slash)).toLowerCase();
  let path = slash < 0 || hadScheme ? '' : text.slice(slash).replace(/\/+$/, '');
  if (DOCKER_HUB_HOSTS.has(host)) host = 'docker.io';
  if (host === 'docker.io' && path.startsWith('/v1')) path = '';
  return `${host}${path}`;
}

/** devenv's own credentials file: `$XDG_CONFIG_HOME/devenv/auth.json` (default ~/.config/devenv/auth.json). */
export function devenvAuthFilePath(env: NodeJS.ProcessEnv = process.env, home?: string): string {
  const configHome = env.XDG_CONFIG_HOME || join(home ?? (env.HOME || homedir()), '.config');
  return join(configHome, 'devenv', 'auth.json');
}

function parseAuthFile(path: string, text: string): AuthFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DevenvError('CONFIG_PARSE', `read credentials \`${path}\`: not valid JSON`, {
      hint: `Fix or remove ${path}.`,
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DevenvError('CONFIG_PARSE', `read credentials \`${path}\`: expected a JSON object`, { hint: `Fix or remove ${path}.` });
  }
  return value as AuthFile;
}

function decodeEntry(entry: NonNullable<AuthFile['auths']>[string] | undefined): RegistryCredentials | undefined {
  if (!entry || typeof entry !== 'object') return undefined;
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return { username: entry.username ?? '', password: '', identityToken: entry.identitytoken };
  }
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  return undefined;
}

/** The key of `map` for `registry`: `registry/repo…` prefixes first (most specific wins), then the registry itself. */
function findKey(map: Record<string, unknown> | undefined, registry: string, repository?: string): string | undefined {
  if (!map) return undefined;
  const byName = new Map(Object.keys(map).map((key) => [normalizeRegistryServer(key), key]));
  if (repository) {
    const parts = repository.split('/');
    for (let n = parts.length; n >= 1; n -= 1) {
      const key = byName.get(`${registry}/${parts.slice(0, n).join('/')}`);
      if (key !== undefined) return key;
    }
  }
  return byName.get(registry);
}

/** Ask `docker-credential-<name> get` for `server`'s credentials (stdin = server, JSON on stdout), within a time limit. */
export async function runCredentialHelper(
  name: string,
  server: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onWarning?: (message: string) => void } = {},
): Promise<RegistryCredentials | undefined> {
  const program = `docker-credential-${name}`;
  const warn = options.onWarning ?? (() => undefined);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    warn(`credential helper name \`${name}\` is not valid; ignoring it`);
    return undefined;
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  const result = await new Promise<{ code: number | null; stdout: string; failed?: unknown; timedOut: boolean }>((resolve) => {
    let stdout = '';
    let timedOut = false;
    let settled = false;
    const finish = (value: { code: number | null; failed?: unknown }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...value, stdout, timedOut });
    };
    const child = spawn(program, ['get'], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'ignore'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
      // A grandchild may still hold the pipe open: stop waiting for it.
      child.stdout.destroy();
      child.stdin.destroy();
      finish({ code: null });
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', (error) => finish({ code: null, failed: error }));
    child.on('close', (code) => finish({ code }));
    child.stdin.on('error', () => undefined); // a helper that exits without reading
    child.stdin.end(server);
  });
  if (result.timedOut) {
    warn(`credential helper ${program} did not answer within ${timeoutMs} ms; continuing without credentials for ${server}`);
    return undefined;
  }
  if (result.failed !== undefined) {
    const why = isErrnoCode(result.failed, 'ENOENT') ? 'is not installed' : 'could not be started';
    warn(`credential helper ${program} ${why}; continuing without credentials for ${server}`);
    return undefined;
  }
  if (result.code !== 0) return undefined; // "credentials not found", or the helper's own failure
  try {
    const parsed = JSON.parse(result.stdout) as { Username?: unknown; Secret?: unknown };
    if (typeof parsed.Username !== 'string' || typeof parsed.Secret !== 'string') return undefined;
    if (parsed.Username === '<token>') return { username: '', password: '', identityToken: parsed.Secret };
    return { username: parsed.Username, password: parsed.Secret };
  } catch {
    warn(`credential helper ${program} printed something that is not JSON; continuing without credentials for ${server}`);
    return undefined;
  }
}

/**
 * Credentials from, in order: devenv's auth.json, `$XDG_RUNTIME_DIR/containers/auth.json`, and
 * `~/.docker/config.json` (`$DOCKER_CONFIG/config.json`): its `credHelpers` entry for the registry, else its
 * `credsStore`, else its `auths`. Files are read once, on first use.
 */
export function createCredentialStore(options: CredentialFilesOptions = {}): CredentialStore {
  const env = options.env ?? process.env;
  const home = options.home ?? (env.HOME || homedir());
  const files: string[] = [devenvAuthFilePath(env, home)];
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  const dockerConfig = join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json');
  files.push(dockerConfig);
  const cache = new Map<string, Promise<AuthFile | undefined>>();
  const load = (path: string): Promise<AuthFile | undefined> => {
    let pending = cache.get(path);
    if (!pending) {
      pending = readFile(path, 'utf8').then(
        (text) => parseAuthFile(path, text),
        (error: unknown) => {
          if (!isErrnoCode(error, 'ENOENT') && !isErrnoCode(error, 'ENOTDIR')) {
            options.onWarning?.(`cannot read credentials file ${path}; ignoring it`);
          }
          return undefined;
        },
      );
      cache.set(path, pending);
    }
    return pending;
  };
  const helper = (name: string, server: string): Promise<RegistryCredentials | undefined> =>
    runCredentialHelper(name, server, { env, timeoutMs: options.helperTimeoutMs, onWarning: options.onWarning });

  return {
    async get(registry, repository) {
      for (const path of files) {
        const file = await load(path);
        if (!file) continue;
        if (path === dockerConfig) {
          const helperKey = findKey(file.credHelpers, registry, repository);
          const helperName = helperKey === undefined ? undefined : file.credHelpers?.[helperKey];
          if (helperKey !== undefined && helperName) return helper(helperName, helperKey);
          if (file.credsStore) {
            const server = findKey(file.auths, registry, repository) ?? (registry === 'docker.io' ? DOCKER_HUB_HELPER_SERVER : registry);
            const found = await helper(file.credsStore, server);
            if (found) return found;
          }
        }
        const key = findKey(file.auths, registry, repository);
        const found = key === undefined ? undefined : decodeEntry(file.auths?.[key]);
        if (found) return found;
      }
      return undefined;
    },
  };
}

/** Fixed credentials (for `devenv login`'s check, and tests): keys are registry names as normalizeRegistryServer gives. */
export function staticCredentialStore(entries: Record<string, RegistryCredentials>): CredentialStore {
  const map = new Map(Object.entries(entries).map(([key, value]) => [normalizeRegistryServer(key), value]));
  return {
    get: async (registry) => map.get(registry),
  };
}

function readOwnAuthFile(path: string): AuthFile {
  try {
    return parseAuthFile(path, readFileSync(path, 'utf8'));
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return {};
    throw error;
  }
}

/** Store `server`'s credentials in devenv's auth.json (created 0600 in a 0700 directory, replaced atomically). */
export function saveCredentials(server: string, credentials: { username: string; password: string }, options: CredentialFilesOptions = {}): string {
  const path = devenvAuthFilePath(options.env ?? process.env, options.home);
  const file = readOwnAuthFile(path);
  const auths = { ...(file.auths ?? {}) };
  auths[normalizeRegistryServer(server)] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeJsonAtomic(path, { ...file, auths }, { mode: 0o600, durable: true });
  return path;
}

/** Remove `server`'s entry from devenv's auth.json; false when there was none. */
export function removeCredentials(server: string, options: CredentialFilesOptions = {}): boolean {
  const path = devenvAuthFilePath(options.env ?? process.env, options.home);
  const file = readOwnAuthFile(path);
  const key = findKey(file.auths, normalizeRegistryServer(server));
  if (key === undefined || !file.auths) return false;
  const auths = { ...file.auths };
  delete auths[key];
  writeJsonAtomic(path, { ...file, auths }, { mode: 0o600, durable: true });
  return true;
}
