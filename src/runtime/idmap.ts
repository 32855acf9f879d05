import { DevenvError } from '../errors.js';
import type { OciIdMapping } from './oci-spec-types.js';

/** One line of /etc/subuid or /etc/subgid. */
export interface SubIdRange {
  owner: string;
  start: number;
  count: number;
}

/** Parse /etc/subuid-style text; comments, blank and malformed lines are ignored. */
export function parseSubIdFile(text: string): SubIdRange[] {
  const ranges: SubIdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [owner, start, count] = line.split(':');
    if (!owner || start === undefined || count === undefined) continue;
    const s = Number(start);
    const c = Number(count);
    if (!Number.isInteger(s) || !Number.isInteger(c) || s < 0 || c <= 0) continue;
    ranges.push({ owner, start: s, count: c });
  }
  return ranges;
}

/** The ranges that belong to a user, matched by name or by numeric uid as shadow-utils does. */
export function rangesForUser(ranges: SubIdRange[], user: { name: string; uid: number }): SubIdRange[] {
  return ranges.filter((r) => r.owner === user.name || r.owner === String(user.uid));
}

export type UsernsMode = 'default' | 'keep-id';

export interface IdMappingInput {
  mode: UsernsMode;
  /** Host ids of the invoking user. */
  uid: number;
  gid: number;
  /**
   * keep-id only: the container uid and gid the host user becomes (e.g. a dev container's remoteUser, 1000).
   * Default: the host ids themselves (`--userns keep-id`).
   */
  keepIdUid?: number;
  keepIdGid?: number;
  rootless: boolean;
  subuids: SubIdRange[];
  subgids: SubIdRange[];
  user: string;
}

const FULL_RANGE = 4294967295;

/** Container ids from `firstContainerId` on, taken in order from the subordinate ranges, skipping `count` ids first. */
function subRanges(subs: SubIdRange[], skip: number, count: number, firstContainerId: number): OciIdMapping[] {
  const maps: OciIdMapping[] = [];
  let toSkip = skip;
  let left = count;
  let next = firstContainerId;
  for (const r of subs) {
    if (left <= 0) break;
    const used = Math.min(toSkip, r.count);
    toSkip -= used;
    const size = Math.min(r.count - used, left);
    if (size <= 0) continue;
    maps.push({ containerID: next, hostID: r.start + used, size });
    next += size;
    left -= size;
  }
  return maps;
}

function mapFor(kind: 'uid' | 'gid', id: number, subs: SubIdRange[], input: IdMappingInput): OciIdMapping[] {
  const file = kind === 'uid' ? '/etc/subuid' : '/etc/subgid';
  const { mode, user } = input;
  if (subs.length === 0) {
    throw new DevenvError('IDMAP_MISSING', `no ${kind === 'uid' ? 'subordinate uid' : 'subordinate gid'} range for user \`${user}\` in ${file}`, {
      kind: 'external',
      hint: `Ask an administrator to run: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}`,
    });
  }
  if (mode === 'default') {
    const maps: OciIdMapping[] = [{ containerID: 0, hostID: id, size: 1 }];
    let next = 1;
    for (const r of subs) {
      maps.push({ containerID: next, hostID: r.start, size: r.count });
      next += r.count;
    }
    return maps;
  }
  // keep-id: the user's own id becomes `target` inside; the container ids below it take the first `target`
  // subordinate ids, those above it the rest.
  const target = (kind === 'uid' ? input.keepIdUid : input.keepIdGid) ?? id;
  if (!Number.isSafeInteger(target) || target < 0 || target >= FULL_RANGE) {
    throw new DevenvError('USAGE', `keep-id: invalid container ${kind} \`${target}\` (a number from 0 to ${FULL_RANGE - 1})`);
  }
  const total = subs.reduce((n, r) => n + r.count, 0);
  if (total < target) {
    const asked = target === id ? `your ${kind} ${id}` : `the container ${kind} ${target}`;
    throw new DevenvError('IDMAP_MISSING', `keep-id user namespace: the ranges in ${file} for \`${user}\` (${total} ids) are too small to map ${asked}`, {
      kind: 'external',
      hint: `Give ${user} a range of at least ${target + 1} ids (e.g. 65536) in ${file}.`,
    });
  }
  return [
    ...subRanges(subs, 0, target, 0),
    { containerID: target, hostID: id, size: 1 },
    ...subRanges(subs, target, total - target, target + 1),
  ];
}

/**
 * Id mappings of a container's user namespace. Root: the identity map of the full id range, so files keep
 * their owners while capabilities stay scoped to the container's namespace. Rootless: the user's own id is
 * root inside (with keep-id: the same id, or `keepIdUid`/`keepIdGid`) and the subordinate ranges fill the rest.
 */
export function computeIdMappings(input: IdMappingInput): { uid: OciIdMapping[]; gid: OciIdMapping[] } {
  if (!input.rootless) {
    const identity = [{ containerID: 0, hostID: 0, size: FULL_RANGE }];
    return { uid: identity, gid: identity };
  }
  return {
    uid: mapFor('uid', input.uid, input.subuids, input),
    gid: mapFor('gid', input.gid, input.subgids, input),
  };
}

/** Map a container id to the host id through mappings (undefined when unmapped). */
export function toHostId(maps: OciIdMapping[], containerId: number): number | undefined {
  for (const m of maps) {
    if (containerId >= m.containerID && containerId < m.containerID + m.size) return m.hostID + (containerId - m.containerID);
  }
  return undefined;
}
