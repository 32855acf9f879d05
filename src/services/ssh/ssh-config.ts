import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

import { writeFileAtomic } from '../../host/atomic-file.js';
import type { ServiceContext } from '../service-context.js';
import { listEnvironments } from '../project/ps.js';
import { ensureHostKey } from './host-keys.js';
import {
  addDevenvInclude,
  buildProxyCommand,
  removeDevenvInclude,
  renderDevenvSshConfig,
  renderKnownHosts,
  type SshHostEntry,
} from './ssh-config-text.js';
import { sshHostAlias } from './ssh-naming.js';

/** Where devenv's SSH client files live, and the user's ssh config it includes them from. */
export interface SshConfigPaths {
  /** devenv's own ssh_config: `$XDG_CONFIG_HOME/devenv/ssh/config`. */
  config: string;
  /** devenv's own known_hosts with the environments' host keys. */
  knownHosts: string;
  /** The user's ~/.ssh/config. */
  userConfig: string;
}

export function sshConfigPaths(env: NodeJS.ProcessEnv = process.env): SshConfigPaths {
  const home = env.HOME || homedir();
  const configHome = env.XDG_CONFIG_HOME || join(home, '.config');
  const dir = join(configHome, 'devenv', 'ssh');
  return { config: join(dir, 'config'), knownHosts: join(dir, 'known_hosts'), userConfig: join(home, '.ssh', 'config') };
}

export interface SshConfigOptions {
  /** How ProxyCommand starts devenv: absolute paths (node and bin/devenv). */
  devenvCommand: readonly string[];
  paths: SshConfigPaths;
}

export interface SshConfigResult {
  hosts: { alias: string; user: string; containerName: string; workspaceFolder: string }[];
  configFile: string;
  knownHostsFile: string;
  userConfig: string;
  /** Whether ~/.ssh/config was changed (false when the Include was already there). */
  includeAdded: boolean;
  backup?: string;
}

/**
 * `devenv ssh-config`: write devenv's ssh_config (one `<name>.devenv` Host per environment of this store) and
 * known_hosts (their persisted host keys), and make sure ~/.ssh/config includes the former, at its top.
 */
export function writeSshConfig(ctx: ServiceContext, options: SshConfigOptions): SshConfigResult {
  const { paths } = options;
  const proxyCommand = buildProxyCommand(options.devenvCommand, ctx.root);
  const hosts: SshConfigResult['hosts'] = [];
  const entries: SshHostEntry[] = [];
  const keys: { alias: string; publicKey: string }[] = [];
  for (const e of listEnvironments(ctx)) {
    const alias = sshHostAlias(e.name);
    if (hosts.some((h) => h.alias === alias)) continue;
    const user = e.remoteUser ?? 'root';
    hosts.push({ alias, user, containerName: e.name, workspaceFolder: e.workspaceFolder });
    entries.push({ alias, user, proxyCommand });
    keys.push({ alias, publicKey: ensureHostKey(ctx.root, alias).publicKey });
  }
  mkdirSync(dirname(paths.config), { recursive: true, mode: 0o700 });
  writeFileAtomic(paths.knownHosts, renderKnownHosts(keys), { mode: 0o600 });
  writeFileAtomic(paths.config, renderDevenvSshConfig({ hosts: entries, knownHostsFile: paths.knownHosts }), { mode: 0o600 });
  const edit = editUserConfig(paths.userConfig, (text, existed) => addDevenvInclude(text, paths.config, existed));
  return {
    hosts,
    configFile: paths.config,
    knownHostsFile: paths.knownHosts,
    userConfig: paths.userConfig,
    includeAdded: edit.changed,
    ...(edit.backup ? { backup: edit.backup } : {}),
  };
}

/** `devenv ssh-config --remove`: take the Include out of ~/.ssh/config and delete devenv's two files. */
export function removeSshConfig(paths: SshConfigPaths): { includeRemoved: boolean; backup?: string } {
  const edit = editUserConfig(paths.userConfig, (text) => removeDevenvInclude(text, paths.config));
  rmSync(paths.config, { force: true });
  rmSync(paths.knownHosts, { force: true });
  return { includeRemoved: edit.changed, ...(edit.backup ? { backup: edit.backup } : {}) };
}

/**
 * Change ~/.ssh/config without ever losing the user's content: follow a symlink to the real file (dotfile
 * managers), keep a copy as `config.devenv-backup`, write the new text atomically with the old mode.
 */
function editUserConfig(
  path: string,
  change: (text: string, existed: boolean) => string | { text: string; deleteFile: boolean },
): { changed: boolean; backup?: string } {
  const existed = existsSync(path);
  const real = existed ? realpathSync(path) : path;
  const before = existed ? readFileSync(real, 'utf8') : '';
  const out = change(before, existed);
  const after = typeof out === 'string' ? out : out.text;
  const remove = typeof out !== 'string' && out.deleteFile;
  if (after === before && !remove) return { changed: false };
  if (!existed && remove) return { changed: false };
  let backup: string | undefined;
  if (existed) {
    backup = `${real}.devenv-backup`;
    copyFileSync(real, backup);
  }
  if (remove) {
    rmSync(real);
  } else {
    mkdirSync(dirname(real), { recursive: true, mode: 0o700 });
    writeFileAtomic(real, after, { mode: existed ? statSync(real).mode & 0o7777 : 0o600, durable: true });
  }
  return { changed: true, ...(backup ? { backup } : {}) };
}
