import { archiveInvalid } from './archive-types.js';

/*
 * Names inside image archives come from whoever wrote the archive. Every name (tar entry, link target, a path in
 * Docker's manifest.json) goes through these functions before it is used: absolute names and `..` components are
 * refused outright, so nothing an archive says can address a file outside it.
 */

const HOSTILE_HINT = 'Do not import this archive: it names files outside itself, which no image tool writes.';

/**
 * `./blobs//sha256/x` → `blobs/sha256/x`. Throws ARCHIVE_INVALID for absolute names, `..` components and NUL
 * bytes. Returns '' for the archive's root (`./`).
 */
export function normalizeArchivePath(name: string, where: string): string {
  if (name.includes('\0')) throw archiveInvalid(where, `entry name ${JSON.stringify(name)} contains a NUL byte`, HOSTILE_HINT);
  if (name.startsWith('/')) throw archiveInvalid(where, `entry \`${name}\` has an absolute path`, HOSTILE_HINT);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw archiveInvalid(where, `entry \`${name}\` contains \`..\``, HOSTILE_HINT);
    parts.push(part);
  }
  return parts.join('/');
}

/**
 * The archive name a symbolic link entry points at. Relative targets are resolved from the link's directory and
 * may use `..` as long as they stay inside the archive (Docker's legacy `<id>/layer.tar -> ../<id2>/layer.tar`).
 */
export function resolveSymlinkTarget(linkName: string, target: string, where: string): string {
  if (target.startsWith('/')) throw archiveInvalid(where, `symbolic link \`${linkName}\` points at the absolute path \`${target}\``, HOSTILE_HINT);
  if (target.includes('\0')) throw archiveInvalid(where, `symbolic link \`${linkName}\` has a NUL byte in its target`, HOSTILE_HINT);
  const parts = linkName.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) throw archiveInvalid(where, `symbolic link \`${linkName}\` points outside the archive (\`${target}\`)`, HOSTILE_HINT);
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.join('/');
}

/** Follows archive-internal links to the regular file they name. */
export interface LinkTable {
  /** Link name → target name (symlinks resolved to archive names; hard links as given). */
  links: Map<string, string>;
  /** Names of regular files. */
  files: Set<string>;
}

const MAX_LINK_HOPS = 16;

/** The regular file `name` is or leads to; undefined when there is none (dangling link, loop, no such entry). */
export function resolveArchiveName(table: LinkTable, name: string): string | undefined {
  let current = name;
  for (let hops = 0; hops <= MAX_LINK_HOPS; hops += 1) {
    if (table.files.has(current)) return current;
    const next = table.links.get(current);
    if (next === undefined) return undefined;
    current = next;
  }
  return undefined;
}

/** `blobs/sha256/<hex>` → `sha256:<hex>`; undefined for any other name. */
export function digestFromBlobPath(name: string): string | undefined {
  const match = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
  return match ? `sha256:${match[1]}` : undefined;
}

/** The layout path of a blob; refuses digests that are not sha256 (they would otherwise become part of a path). */
export function blobPath(digest: string, where: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!match) throw archiveInvalid(where, `unsupported or malformed digest \`${digest.slice(0, 100)}\` (only sha256 is supported)`);
  return `blobs/sha256/${match[1]}`;
}
