/**
 * Remote-SSH URIs for devenv environments. Pure (no `vscode` import) so the unit tests can load it.
 *
 * `devenv ssh-config` writes one OpenSSH Host entry per environment, named `<name>.devenv`, whose ProxyCommand is
 * `devenv ssh --stdio`; Remote-SSH (and open-remote-ssh) opens `vscode-remote://ssh-remote+<host><path>`.
 */

/** The suffix `devenv ssh-config` gives every Host entry. */
export const SSH_HOST_SUFFIX = '.devenv';

/** Remote-SSH's authority prefix. */
export const SSH_REMOTE_PREFIX = 'ssh-remote+';

const PLAIN_HOST = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The OpenSSH Host alias of an environment: `<name>.devenv`. */
export function sshHostFor(environmentName: string): string {
  if (environmentName.trim() === '') throw new Error('an environment name is required');
  return `${environmentName}${SSH_HOST_SUFFIX}`;
}

/**
 * The URI authority Remote-SSH uses for a host. Remote-SSH writes hosts with characters that are not valid in a
 * URI authority as the hex of `{"hostName": host}`; plain names stay as they are.
 */
export function remoteAuthorityFor(host: string): string {
  if (PLAIN_HOST.test(host)) return `${SSH_REMOTE_PREFIX}${host}`;
  return `${SSH_REMOTE_PREFIX}${Buffer.from(JSON.stringify({ hostName: host }), 'utf8').toString('hex')}`;
}

/** Percent-encode each segment of an absolute POSIX path (spaces, `#`, `?`, `%`…), keeping the slashes. */
export function encodePosixPath(path: string): string {
  if (!path.startsWith('/')) throw new Error(`the remote workspace folder must be an absolute path, got \`${path}\``);
  const normalized = path.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  return normalized
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/**
 * The folder URI to open for an environment: `vscode-remote://ssh-remote+<name>.devenv<remoteWorkspaceFolder>`
 * (for `vscode.openFolder` after `vscode.Uri.parse`).
 */
export function buildRemoteFolderUri(environmentName: string, remoteWorkspaceFolder: string): string {
  return `vscode-remote://${remoteAuthorityFor(sshHostFor(environmentName))}${encodePosixPath(remoteWorkspaceFolder)}`;
}

/** The SSH host named by a Remote-SSH authority (`ssh-remote+host` or its hex-JSON form), or undefined. */
export function sshHostOfAuthority(authority: string | undefined): string | undefined {
  if (authority === undefined || !authority.startsWith(SSH_REMOTE_PREFIX)) return undefined;
  const rest = authority.slice(SSH_REMOTE_PREFIX.length);
  if (rest === '') return undefined;
  if (/^[0-9a-f]+$/i.test(rest) && rest.length % 2 === 0 && rest.toLowerCase().startsWith('7b')) {
    try {
      const decoded = JSON.parse(Buffer.from(rest, 'hex').toString('utf8')) as { hostName?: unknown };
      if (typeof decoded.hostName === 'string') return decoded.hostName;
    } catch {
      // not hex JSON after all: a plain host that happens to be hex digits
    }
  }
  return rest;
}

/** The devenv environment a window's remote authority points at (`ssh-remote+<name>.devenv`), or undefined. */
export function environmentOfAuthority(authority: string | undefined): string | undefined {
  const host = sshHostOfAuthority(authority);
  if (host === undefined || !host.endsWith(SSH_HOST_SUFFIX)) return undefined;
  const name = host.slice(0, -SSH_HOST_SUFFIX.length);
  return name === '' ? undefined : name;
}
