import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { ContainerRecord } from '../../runtime/container-store.js';
import { execStream } from '../container/exec-stream.js';
import type { ProjectState } from '../project/project-state.js';
import type { ServiceContext } from '../service-context.js';

/** Writes stdin to remoteUser's ~/.gitconfig unless one is there (home from the container's passwd). */
const COPY_SCRIPT =
  'h=$(awk -F: -v u="$(id -u)" \'$3==u{print $6; exit}\' /etc/passwd 2>/dev/null); h=${h:-$HOME}; ' +
  '[ -n "$h" ] && [ -d "$h" ] && [ ! -e "$h/.gitconfig" ] && cat > "$h/.gitconfig" || cat > /dev/null';

/**
 * Copy the user's ~/.gitconfig into remoteUser's home in the container when it has none, as VS Code's remote
 * extensions do: commits made inside carry the user's name and settings. An existing file is never replaced.
 * Returns whether there was one to offer.
 */
export async function copyGitConfig(ctx: ServiceContext, record: ContainerRecord, state: ProjectState, hostEnv: NodeJS.ProcessEnv): Promise<boolean> {
  let text: string;
  try {
    text = readFileSync(join(hostEnv.HOME || homedir(), '.gitconfig'), 'utf8');
  } catch {
    return false;
  }
  const p = await execStream(ctx, record, { command: ['/bin/sh', '-c', COPY_SCRIPT], env: [], user: state.remoteUser, workdir: '/' });
  p.stdout.resume();
  p.stderr?.resume();
  p.stdin.end(text);
  await p.exited;
  return true;
}
