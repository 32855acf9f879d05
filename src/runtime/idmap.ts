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
  rootless: boolean;
  subuids: SubIdRange[];
  subgids: SubIdRange[];
  user: string;
}

const FULL_RANGE = 4294967295;

function mapFor(kind: 'uid' | 'gid', id: number, subs: SubIdRange[], mode: UsernsMode, user: string): OciIdMapping[] {
  const file = kind === 'uid' ? '/etc/subuid' : '/etc/subgid';
  const first = subs[0];
  if (!first) {
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
  // keep-id: the user's own id maps to itself; ids below and above it come from the subordinate range.
  if (first.count <= id) {
    throw new DevenvError('IDMAP_MISSING', `--userns keep-id: the range in ${file} for \`${user}\` (${first.count} ids) is smaller than your id ${id}`, {
      kind: 'external',
      hint: `Give ${user} a range of at least ${id + 1} ids (e.g. 65536) in ${file}.`,
    });
  }
  const maps: OciIdMapping[] = [];
  if (id > 0) maps.push({ containerID: 0, hostID: first.start, size: id });
  maps.push({ containerID: id, hostID: id, size: 1 });
  maps.push({ containerID: id + 1, hostID: first.start + id, size: first.count - id });
  return maps;
}

/**
 * Id mappings of a container's user namespace. Root: the identity map of the full id range, so files keep
 * their owners while capabilities stay scoped to the container's namespace. Rootless: the user's own id is
 * root inside (or the same id with keep-id) and the subordinate ranges fill the rest.
 */
export function computeIdMappings(input: IdMappingInput): { uid: OciIdMapping[]; gid: OciIdMapping[] } {
  if (!input.rootless) {
    const identity = [{ containerID: 0, hostID: 0, size: FULL_RANGE }];
    return { uid: identity, gid: identity };
  }
  return {
    uid: mapFor('uid', input.uid, input.subuids, input.mode, input.user),
    gid: mapFor('gid', input.gid, input.subgids, input.mode, input.user),
  };
}

/** Map a container id to the host id through mappings (undefined when unmapped). */
export function toHostId(maps: OciIdMapping[], containerId: number): number | undefined {
  for (const m of maps) {
    if (containerId >= m.containerID && containerId < m.containerID + m.size) return m.hostID + (containerId - m.containerID);
  }
  return undefined;
}
