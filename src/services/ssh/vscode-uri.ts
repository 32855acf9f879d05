import { posix } from 'node:path';

import { DevenvError } from '../../errors.js';

/**
 * The folder URI VS Code's Remote-SSH opens for `host` and a folder inside it:
 * `vscode-remote://ssh-remote+<host><folder>` (the authority's `+host` part percent-encoded as VS Code does,
 * the path segment by segment). Pure.
 */
export function buildVscodeRemoteUri(host: string, remoteFolder: string): string {
  if (!posix.isAbsolute(remoteFolder)) {
    throw new DevenvError('USAGE', `the folder in the container must be absolute, not \`${remoteFolder}\``);
  }
  const normalized = posix.normalize(remoteFolder);
  const path = normalized.split('/').map((segment) => encodeURIComponent(segment)).join('/');
  return `vscode-remote://ssh-remote+${encodeURIComponent(host)}${path}`;
}

/** The `code` command line that opens it (a new window unless one shows that folder already). Pure. */
export function vscodeOpenArgs(uri: string): string[] {
  return ['--folder-uri', uri];
}
