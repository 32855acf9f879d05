/**
 * The text of devenv's SSH client configuration and the one `Include` line it adds to the user's ~/.ssh/config.
 * Pure: the file handling is in ssh-config.ts.
 */

/** One `Host` entry of devenv's config file. */
export interface SshHostEntry {
  alias: string;
  user: string;
  /** The ProxyCommand, already quoted for the shell ssh runs it with. */
  proxyCommand: string;
}

export interface DevenvSshConfigInput {
  hosts: readonly SshHostEntry[];
  knownHostsFile: string;
}

export const INCLUDE_MARKER = '# Added by `devenv ssh-config` (`devenv ssh-config --remove` takes it out again)';
/** The marker when devenv created ~/.ssh/config itself: `--remove` then deletes the file once it is empty. */
export const INCLUDE_MARKER_CREATED = '# Added by `devenv ssh-config`, which created this file (`devenv ssh-config --remove` takes it out again)';

/** Quote one word for a POSIX shell (ssh runs ProxyCommand with `$SHELL -c`). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Quote an ssh_config argument (double quotes; ssh_config has no escape for `"` itself). */
export function sshConfigQuote(value: string): string {
  return /[\s#"]/.test(value) ? `"${value}"` : value;
}

/** The ProxyCommand of every devenv host: devenv itself by absolute path, with the store it serves. */
export function buildProxyCommand(argv0: readonly string[], storeRoot: string): string {
  return [...argv0, 'ssh', '--stdio', '--root', storeRoot, '--host', '%h'].map((w) => (w === '%h' ? w : shellQuote(w))).join(' ');
}

/** devenv's own ssh_config file: one Host block per environment. */
export function renderDevenvSshConfig(input: DevenvSshConfigInput): string {
  const lines = [
    '# Written by `devenv ssh-config`; it is rewritten each time, so edits here are lost.',
    '# Every host is reached through `devenv ssh --stdio` (no sshd, no TCP port) with a host key of its own.',
    '',
  ];
  for (const h of input.hosts) {
    lines.push(
      `Host ${h.alias}`,
      `  HostName ${h.alias}`,
      `  User ${sshConfigQuote(h.user)}`,
      `  ProxyCommand ${h.proxyCommand}`,
      `  UserKnownHostsFile ${sshConfigQuote(input.knownHostsFile)}`,
      '  StrictHostKeyChecking yes',
      '  HostKeyAlgorithms ssh-ed25519',
      '',
    );
  }
  return `${lines.join('\n')}`;
}

/** known_hosts lines for the environments' host keys (`ssh-ed25519 AAAA…`). */
export function renderKnownHosts(keys: readonly { alias: string; publicKey: string }[]): string {
  return keys.map((k) => `${k.alias} ${k.publicKey.trim().split(/\s+/).slice(0, 2).join(' ')}\n`).join('');
}

export function includeLine(configPath: string): string {
  return `Include ${sshConfigQuote(configPath)}`;
}

function splitLines(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\n)/);
}

/** Whether the user's ssh config already includes devenv's file. */
export function hasDevenvInclude(text: string, configPath: string): boolean {
  const wanted = includeLine(configPath);
  return splitLines(text).some((l) => l.trim() === wanted);
}

/**
 * The user's ssh config with devenv's Include added at the very top (Include lines inside a `Host` block would
 * only apply to that host, so it must come first). `existed: false` marks a file devenv creates. Unchanged when
 * the Include is already there. Pure.
 */
export function addDevenvInclude(text: string, configPath: string, existed = true): string {
  if (hasDevenvInclude(text, configPath)) return text;
  const block = `${existed ? INCLUDE_MARKER : INCLUDE_MARKER_CREATED}\n${includeLine(configPath)}\n`;
  return text === '' ? block : `${block}\n${text}`;
}

/**
 * Undo addDevenvInclude exactly: the marker, the Include and the blank line added after them. `deleteFile` is
 * true when devenv had created the file and nothing else is left in it. Lines the user wrote are never touched.
 * Pure.
 */
export function removeDevenvInclude(text: string, configPath: string): { text: string; deleteFile: boolean } {
  const lines = splitLines(text);
  const wanted = includeLine(configPath);
  const out: string[] = [];
  let created = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const trimmed = line.trim();
    const next = lines[i + 1]?.trim();
    if ((trimmed === INCLUDE_MARKER || trimmed === INCLUDE_MARKER_CREATED) && next === wanted) {
      created ||= trimmed === INCLUDE_MARKER_CREATED;
      i += 1;
      if (lines[i + 1] !== undefined && lines[i + 1]?.trim() === '' && out.length === 0) i += 1;
      continue;
    }
    if (trimmed === wanted) continue;
    out.push(line);
  }
  const rest = out.join('');
  return { text: rest, deleteFile: created && rest.trim() === '' };
}
