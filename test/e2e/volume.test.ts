import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';

import { testUser, uidOf } from '../support/devenv-cli.js';
import { useSuite, type Suite } from '../support/suite.js';

interface VolumeRow {
  name: string;
  anonymous: boolean;
  mountpoint: string;
  containers: { id: string; name: string }[];
}

function volumes(s: Suite): VolumeRow[] {
  const r = s.run(['volume', 'ls', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as VolumeRow[];
}

/** The volume list once `until` holds (a --rm container's monitor removes it just after devenv returns). */
async function volumesOnce(s: Suite, until: (rows: VolumeRow[]) => boolean): Promise<VolumeRow[]> {
  let rows = volumes(s);
  for (let i = 0; i < 50 && !until(rows); i += 1) {
    await sleep(100);
    rows = volumes(s);
  }
  return rows;
}

describe.each(['root', 'rootless'] as const)('volumes (%s)', (mode) => {
  const s = useSuite(mode, 'vol');
  const uid = mode === 'root' ? 0 : uidOf(testUser());

  it('keeps a named volume across containers: written by one, read by the next after the first is removed', () => {
    const name = `data-${mode}`;
    const write = s.runIn(['--name', `writer-${mode}`, '-v', `${name}:/data`], ['sh', '-c', 'echo kept > /data/file && id -u']);
    expect(write.code, write.stderr).toBe(0);
    expect(write.stdout.trim()).toBe('0');
    const row = volumes(s).find((v) => v.name === name);
    expect(row?.containers.map((c) => c.name)).toEqual([`writer-${mode}`]);
    // the host directory belongs to the user that ran devenv (root inside the container)
    expect(statSync(row?.mountpoint as string).uid).toBe(uid);
    expect(statSync(join(row?.mountpoint as string, 'file')).uid).toBe(uid);

    expect(s.run(['container', 'rm', `writer-${mode}`]).code).toBe(0);
    expect(volumes(s).find((v) => v.name === name)?.containers).toEqual([]);
    const read = s.runIn(['--rm', '--mount', `type=volume,source=${name},target=/again,readonly`], ['sh', '-c', 'cat /again/file; touch /again/x 2>/dev/null || echo read-only']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout.trim().split('\n')).toEqual(['kept', 'read-only']);
  });

  it('--userns keep-id writes to a volume as the invoking user', () => {
    const name = `keep-${mode}`;
    const r = s.runIn(['--rm', '--userns', 'keep-id', '-v', `${name}:/k`], ['sh', '-c', 'id -u; echo mine > /k/f']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(String(uid));
    const row = volumes(s).find((v) => v.name === name) as VolumeRow;
    expect(statSync(join(row.mountpoint, 'f')).uid).toBe(uid);
    expect(s.run(['volume', 'rm', name]).code).toBe(0);
  });

  it('refuses to remove a volume a container uses, naming it; removes it once the container is gone', () => {
    const name = `used-${mode}`;
    const created = s.run(['container', 'create', '--name', `user-${mode}`, '-v', `${name}:/u`, '--rootfs', s.rootfs, 'true']);
    expect(created.code, created.stderr).toBe(0);
    const refused = s.run(['volume', 'rm', name]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`volume \`${name}\` is in use by container user-${mode}`);
    expect(refused.stderr).toContain('devenv down');
    const json = s.run(['volume', 'rm', name, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ outcome: 'error', code: 'VOLUME_IN_USE' });
    expect(volumes(s).some((v) => v.name === name)).toBe(true);

    expect(s.run(['container', 'rm', `user-${mode}`]).code).toBe(0);
    const removed = s.run(['volume', 'rm', name]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout.trim()).toBe(name);
    expect(volumes(s).some((v) => v.name === name)).toBe(false);
    expect(existsSync(join(s.root, 'volumes', name))).toBe(false);
  });

  it('removes files a non-root container user made in a volume (rootless: sub-ids)', () => {
    const name = `subids-${mode}`;
    const r = s.runIn(['--rm', '-v', `${name}:/s`], ['sh', '-c', 'mkdir -p /s/d/e && touch /s/d/e/f && chown -R 1000:1000 /s/d && chmod 700 /s/d /s/d/e']);
    expect(r.code, r.stderr).toBe(0);
    const rm = s.run(['volume', 'rm', name]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(readdirSync(join(s.root, 'volumes')).filter((n) => !n.startsWith('.lock'))).not.toContain(name);
    expect(readdirSync(join(s.root, 'volumes')).filter((n) => n.startsWith('.rm-'))).toEqual([]);
  });

  it('removes the anonymous volume of a --rm container with it; keeps that of others until prune', async () => {
    const before = new Set(volumes(s).map((v) => v.name));
    const r = s.runIn(['--rm', '--mount', 'type=volume,target=/scratch'], ['sh', '-c', 'echo x > /scratch/f']);
    expect(r.code, r.stderr).toBe(0);
    const after = await volumesOnce(s, (rows) => rows.every((v) => before.has(v.name)));
    expect(after.filter((v) => !before.has(v.name))).toEqual([]);

    // Detached, the runtime's monitor removes the container when it ends; the next volume command sweeps its volume.
    const detached = s.runIn(['-d', '--rm', '--mount', 'type=volume,target=/scratch'], ['sh', '-c', 'echo x > /scratch/f; sleep 0.3']);
    expect(detached.code, detached.stderr).toBe(0);
    const swept = await volumesOnce(s, (rows) => rows.every((v) => before.has(v.name)));
    expect(swept.filter((v) => !before.has(v.name))).toEqual([]);

    const kept = s.runIn(['--name', `anon-${mode}`, '-v', '/scratch'], ['sh', '-c', 'echo x > /scratch/f']);
    expect(kept.code, kept.stderr).toBe(0);
    const anon = volumes(s).filter((v) => v.anonymous && !before.has(v.name));
    expect(anon).toHaveLength(1);
    expect(anon[0]?.name).toMatch(/^[0-9a-f]{64}$/);
    expect(anon[0]?.containers.map((c) => c.name)).toEqual([`anon-${mode}`]);
    expect(s.run(['container', 'rm', `anon-${mode}`]).code).toBe(0);
    expect(volumes(s).some((v) => v.name === anon[0]?.name)).toBe(true);

    const noTerminal = s.run(['volume', 'prune']);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('--force');
    const pruned = s.run(['volume', 'prune', '--force', '--json']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect((JSON.parse(pruned.stdout) as { removed: string[] }).removed).toEqual([anon[0]?.name]);
    expect(volumes(s).some((v) => v.name === anon[0]?.name)).toBe(false);
  });

  it('lets concurrent creates share a new volume', async () => {
    const name = `race-${mode}`;
    const runs = await Promise.all(
      [1, 2, 3].map((i) => s.runAsync(['container', 'run', '--rm', '-v', `${name}:/r`, '--rootfs', s.rootfs, 'sh', '-c', `echo ${i} > /r/${i}`])),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const row = volumes(s).find((v) => v.name === name) as VolumeRow;
    expect(readdirSync(row.mountpoint).sort()).toEqual(['1', '2', '3']);
    const pruneAll = s.run(['volume', 'prune', '--all', '--force']);
    expect(pruneAll.code, pruneAll.stderr).toBe(0);
    expect(volumes(s).some((v) => v.name === name)).toBe(false);
  });
});
