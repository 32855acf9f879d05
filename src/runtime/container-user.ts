import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DevenvError } from '../errors.js';

/** A resolved `--user`: ids inside the container, supplementary groups, and the home from /etc/passwd. */
export interface ContainerUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
  name?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0] as string, uid, gid, home: f[5] || '/' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({ name: f[0] as string, gid, members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

/** Read a file of the container's rootfs layers (top-most first) without following symlinks out of them. */
export function readRootfsFile(lowerdirs: string[], relative: string): string | undefined {
  for (const dir of lowerdirs) {
    const path = join(dir, relative);
    try {
      if (!lstatSync(path).isFile()) return undefined;
      return readFileSync(path, 'utf8');
    } catch {
      // try the next layer
    }
  }
  return undefined;
}

const ID = /^\d+$/;

/**
 * Resolve `user[:group]` (names or numeric ids) against the container's /etc/passwd and /etc/group, as Docker
 * does: numeric ids need no entry; a name that is not there is an error naming it.
 */
export function resolveContainerUser(spec: string | undefined, files: { passwd?: string; group?: string }): ContainerUser {
  const passwd = parsePasswd(files.passwd ?? '');
  const groups = parseGroup(files.group ?? '');
  const [userPart = '', groupPart] = (spec ?? '0').split(':', 2);
  if (userPart === '') throw new DevenvError('USAGE', `invalid --user value \`${spec}\`: expected user[:group]`);

  let uid: number;
  let gid: number;
  let home = '/';
  let name: string | undefined;
  if (ID.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((p) => p.uid === uid);
    gid = entry?.gid ?? 0; // Docker: a uid without a passwd entry runs with gid 0
    if (entry) {
      home = entry.home;
      name = entry.name;
    }
  } else {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry) {
      throw new DevenvError('USER_UNKNOWN', `unknown user \`${userPart}\`: no such entry in the container's /etc/passwd`, {
        hint: 'Use a user that exists in the image, or a numeric uid[:gid].',
      });
    }
    uid = entry.uid;
    gid = entry.gid;
    home = entry.home;
    name = entry.name;
  }
  if (groupPart !== undefined) {
    if (ID.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) {
        throw new DevenvError('USER_UNKNOWN', `unknown group \`${groupPart}\`: no such entry in the container's /etc/group`, {
          hint: 'Use a group that exists in the image, or a numeric gid.',
        });
      }
      gid = g.gid;
    }
  }
  const additionalGids = name ? groups.filter((g) => g.members.includes(name as string) && g.gid !== gid).map((g) => g.gid) : [];
  return { uid, gid, additionalGids, home, ...(name ? { name } : {}) };
}
