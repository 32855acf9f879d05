import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where one devenv store lives. Everything devenv writes for images, containers and state is below `root`. */
export interface StorePaths {
  root: string;
  containers: string;
  /** Lock files of the store itself (name index …). */
  locks: string;
}

export interface StoreLocationInput {
  /** --root flag value, if given. */
  flag?: string | undefined;
  env?: NodeJS.ProcessEnv;
  uid?: number;
}

/**
 * The store root: `--root`, else `DEVENV_ROOT`, else `/var/lib/devenv` for root and
 * `$XDG_DATA_HOME/devenv` (default `~/.local/share/devenv`) for everyone else.
 */
export function resolveStoreRoot(input: StoreLocationInput = {}): string {
  const env = input.env ?? process.env;
  const uid = input.uid ?? process.getuid?.() ?? 0;
  if (input.flag) return resolve(input.flag);
  if (env.DEVENV_ROOT) return resolve(env.DEVENV_ROOT);
  if (uid === 0) return '/var/lib/devenv';
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(dataHome, 'devenv');
}

export function storePaths(root: string): StorePaths {
  return { root, containers: join(root, 'containers'), locks: join(root, 'locks') };
}
