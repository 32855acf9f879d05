import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { ContainerRecord } from '../../runtime/container-store.js';
import { execStream } from '../container/exec-stream.js';
import type { ServiceContext } from '../service-context.js';

/** One git config file of the host user, and where it goes in remoteUser's home. */
export interface GitConfigFile {
  /** Path relative to remoteUser's home in the container. */
  target: '.gitconfig' | '.config/git/config';
  text: string;
}

/** DEVENV_COPY_GITCONFIG=0 (or false, no, off) keeps the host's git config out of containers. Pure. */
export function isGitConfigCopyOff(env: NodeJS.ProcessEnv): boolean {
  return /^(0|false|no|off)$/i.test(env.DEVENV_COPY_GITCONFIG ?? '');
}

/**
 * The host user's git config files, as git reads them: ~/.gitconfig and $XDG_CONFIG_HOME/git/config (default
 * ~/.config/git/config). Missing or unreadable files are skipped; none when copying is turned off.
 */
export function readHostGitConfig(env: NodeJS.ProcessEnv): GitConfigFile[] {
  if (isGitConfigCopyOff(env)) return [];
  const home = env.HOME || homedir();
  const xdg = env.XDG_CONFIG_HOME || join(home, '.config');
  const files: GitConfigFile[] = [];
  for (const [target, path] of [['.gitconfig', join(home, '.gitconfig')], ['.config/git/config', join(xdg, 'git', 'config')]] as const) {
    try {
      files.push({ target, text: readFileSync(path, 'utf8') });
    } catch {
      // none on the host: nothing to copy
    }
  }
  return files;
}

/**
 * The script that writes stdin to `$home/<target>` as remoteUser: home from the container's passwd (busybox has no
 * getent), and noclobber (`set -C`) so an existing file, even one made a moment ago, is never replaced. Pure.
 */
export function gitConfigCopyScript(target: GitConfigFile['target']): string {
  const parent = target.includes('/') ? ' && mkdir -p "$h/.config/git"' : '';
  return (
    'h=$(awk -F: -v u="$(id -u)" \'$3==u{print $6; exit}\' /etc/passwd 2>/dev/null); h=${h:-$HOME}; ' +
    `if [ -n "$h" ] && [ -d "$h" ] && [ ! -e "$h/${target}" ]${parent}; then set -C; cat > "$h/${target}" 2>/dev/null || cat > /dev/null; else cat > /dev/null; fi`
  );
}

/**
 * Copy the host user's git config into `user`'s home in the container where it has none, as VS Code Dev Containers
 * does: commits made inside carry the user's name and settings. An existing file is never replaced. Returns the
 * targets offered (empty when the host has none or DEVENV_COPY_GITCONFIG is off).
 */
export async function copyGitConfig(ctx: ServiceContext, record: ContainerRecord, user: string, hostEnv: NodeJS.ProcessEnv): Promise<string[]> {
  const files = readHostGitConfig(hostEnv);
  for (const file of files) {
    const p = await execStream(ctx, record, { command: ['/bin/sh', '-c', gitConfigCopyScript(file.target)], env: [], user, workdir: '/' });
    p.stdout.resume();
    p.stderr?.resume();
    p.stdin.on('error', () => undefined);
    p.stdin.end(file.text);
    await p.exited;
  }
  return files.map((f) => f.target);
}
