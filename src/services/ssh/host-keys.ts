import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import ssh2 from 'ssh2';

import { isErrnoCode } from '../../errors.js';

/** An environment's SSH host key: the private key (OpenSSH format) and its public line (`ssh-ed25519 AAAA…`). */
export interface HostKey {
  privateKey: string;
  publicKey: string;
}

export function hostKeysDir(root: string): string {
  return join(root, 'ssh', 'host-keys');
}

/**
 * The host key of the environment with this SSH alias, generated once (ed25519) and kept in the store
 * (`<root>/ssh/host-keys/<alias>`, mode 0600), so it survives rebuilds and known_hosts stays valid. Two
 * processes generating at once: the exclusive create makes one win and the other reads the winner's key.
 */
export function ensureHostKey(root: string, alias: string): HostKey {
  const dir = hostKeysDir(root);
  const path = join(dir, alias);
  const existing = readHostKey(path);
  if (existing) return existing;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: alias });
  // Written whole to a temporary name, then linked into place: never a half key, and link() fails on a winner.
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, pair.private, { mode: 0o600 });
  try {
    linkSync(tmp, path);
  } catch (error) {
    if (!isErrnoCode(error, 'EEXIST')) throw error;
    const raced = readHostKey(path);
    if (raced) return raced;
  } finally {
    rmSync(tmp, { force: true });
  }
  return { privateKey: pair.private, publicKey: publicLine(pair.private) };
}

function readHostKey(path: string): HostKey | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return { privateKey: text, publicKey: publicLine(text) };
}

function publicLine(privateKey: string): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return `${key.type} ${key.getPublicSSH().toString('base64')}`;
}
