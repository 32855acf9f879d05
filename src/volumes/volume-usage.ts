import { sep } from 'node:path';

import type { ContainerRecord } from '../runtime/container-store.js';
import type { UserMount } from '../runtime/spec.js';
import type { VolumeUser } from './volume-errors.js';
import { volumesDir } from './volume-store.js';

/** The volume a mount uses: its `volume` field, or a bind source inside `<root>/volumes/<name>/_data`. */
export function volumeOfMount(root: string, mount: UserMount): string | undefined {
  if (mount.volume) return mount.volume.name;
  if (mount.type !== 'bind' || !mount.source) return undefined;
  const prefix = volumesDir(root) + sep;
  if (!mount.source.startsWith(prefix)) return undefined;
  const [name, data] = mount.source.slice(prefix.length).split(sep);
  return name && data === '_data' && !name.startsWith('.') ? name : undefined;
}

/** The volumes a container mounts, once each (`devenv down --volumes` removes the named ones). */
export function containerVolumes(root: string, record: ContainerRecord): Array<{ name: string; anonymous: boolean }> {
  const out = new Map<string, boolean>();
  for (const m of record.spec?.mounts ?? []) {
    const name = volumeOfMount(root, m);
    if (name !== undefined) out.set(name, (out.get(name) ?? false) || m.volume?.anonymous === true);
  }
  return [...out].map(([name, anonymous]) => ({ name, anonymous }));
}

/** Volume name → the containers (any state) whose records mount it. Pure: the records are read by the caller. */
export function volumeUsers(root: string, records: readonly ContainerRecord[]): Map<string, VolumeUser[]> {
  const users = new Map<string, VolumeUser[]>();
  for (const record of records) {
    const names = new Set((record.spec?.mounts ?? []).map((m) => volumeOfMount(root, m)).filter((n): n is string => n !== undefined));
    for (const name of names) users.set(name, [...(users.get(name) ?? []), { id: record.id, name: record.name }]);
  }
  return users;
}
