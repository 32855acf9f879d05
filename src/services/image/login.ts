import { DevenvError } from '../../errors.js';
import { devenvAuthFilePath, normalizeRegistryServer, removeCredentials, saveCredentials } from '../../image/registry/credentials.js';
import type { LoginResult } from '../../image/registry/login.js';
import type { ServiceContext } from '../service-context.js';

/** The check `login` makes before saving (the registry helper's loginToRegistry; tests pass a fake). */
export type LoginCheck = (server: string, username: string, password: string) => Promise<LoginResult>;

export interface LoginOptions {
  server: string;
  username: string;
  password: string;
  /** Default: loginToRegistry with the user's registries.json. */
  check?: LoginCheck;
  /** Where devenv's auth.json is (default: from the process environment). */
  env?: NodeJS.ProcessEnv;
}

/** What `devenv login` did; its `--json` form. */
export interface LoginOutcome {
  registry: string;
  /** False when the registry asked for no credentials, so they could not be checked (they are saved anyway). */
  verified: boolean;
  /** The file the credentials were saved in. */
  authFile: string;
}

/** What `devenv logout` did. */
export interface LogoutOutcome {
  registry: string;
  /** False when devenv had no credentials for it. */
  removed: boolean;
  authFile: string;
}

/** Check credentials against the registry, then save them in devenv's auth.json (mode 0600). */
export async function loginRegistry(ctx: ServiceContext, options: LoginOptions): Promise<LoginOutcome> {
  if (options.username === '') throw new DevenvError('USAGE', `login \`${options.server}\`: the user name is empty`, { hint: 'Pass it with -u USER.' });
  if (options.password === '') {
    throw new DevenvError('USAGE', `login \`${options.server}\`: the password is empty`, { hint: 'Pipe it in with --password-stdin, or type it when asked.' });
  }
  const check: LoginCheck =
    options.check ??
    (async (server, username, password) => {
      const { loginToRegistry } = await import('../../image/registry/login.js');
      return loginToRegistry(server, username, password, { logger: ctx.logger });
    });
  const result = await check(options.server, options.username, options.password);
  if (!result.verified) ctx.logger.warn(`${result.registry} did not ask for credentials; saved them without checking`);
  const authFile = saveCredentials(result.registry, { username: options.username, password: options.password }, options.env ? { env: options.env } : {});
  return { registry: result.registry, verified: result.verified, authFile };
}

/** Remove a registry's credentials from devenv's auth.json (other tools' files are left alone). */
export async function logoutRegistry(_ctx: ServiceContext, server: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<LogoutOutcome> {
  const registry = normalizeRegistryServer(server);
  const removed = removeCredentials(registry, options.env ? { env: options.env } : {});
  return { registry, removed, authFile: devenvAuthFilePath(options.env ?? process.env) };
}
