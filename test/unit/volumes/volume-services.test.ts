import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { createStderrLogger } from '../../../src/host/logger.js';
import { bundleDir, createBundle, type ContainerRecord } from '../../../src/runtime/container-store.js';
import type { UserMount } from '../../../src/runtime/spec.js';
import { parseMountFlag, parseVolumeFlag } from '../../../src/services/container/create-options.js';
import { resolveVolumeMounts, withContainerVolumes } from '../../../src/services/container/create-volumes.js';
import { removeAnonymousVolumes } from '../../../src/services/container/remove-volumes.js';
import { createVolume } from '../../../src/services/volume/create.js';
import { inspectVolumes, listVolumes } from '../../../src/services/volume/list.js';
import { pruneVolumes } from '../../../src/services/volume/prune.js';
import { removeVolumes } from '../../../src/services/volume/remove.js';
import type { VolumeServiceContext } from '../../../src/services/volume/volume-context.js';
import { ensureVolume, readVolume, volumeDataDir, volumesDir } from '../../../src/volumes/volume-store.js';
import { containerVolumes, volumeOfMount, volumeUsers } from '../../../src/volumes/volume-usage.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function newCtx(): VolumeServiceContext {
  const root = mkdtempSync(join(tmpdir(), 'devenv-volsvc-'));
  roots.push(root);
  return { root, logger: createStderrLogger('error') };
}

let counter = 0;
/** A container record as create writes it, with only what the volume code reads filled in. */
function makeRecord(root: string, name: string, mounts: UserMount[], autoRemove = false): ContainerRecord {
  counter += 1;
  const id = counter.toString(16).padStart(64, '0');
  return {
    id,
    name,
    created: new Date().toISOString(),
    rootfs: '/rootfs',
    command: ['true'],
    limits: {},
    autoRemove,
    warnings: [],
    spec: { id, bundleDir: bundleDir(root, id), mounts, autoRemove, rootless: false } as unknown as ContainerRecord['spec'],
  };
}

/** What create does: volumes, then the bundle. */
async function createContainer(ctx: VolumeServiceContext, name: string, flags: { v?: string[]; mount?: string[] }, autoRemove = false): Promise<ContainerRecord> {
  const mounts = [...(flags.v ?? []).map(parseVolumeFlag), ...(flags.mount ?? []).map(parseMountFlag)];
  const record = makeRecord(ctx.root, name, mounts, autoRemove);
  await withContainerVolumes(ctx, record, () => createBundle(ctx.root, record));
  return record;
}

function removeBundle(ctx: VolumeServiceContext, record: ContainerRecord): void {
  rmSync(bundleDir(ctx.root, record.id), { recursive: true, force: true });
}

describe('volume usage', () => {
  it('knows a mount by its volume field or by a source inside a volume', () => {
    const root = '/store';
    expect(volumeOfMount(root, { type: 'bind', target: '/x', readonly: false, volume: { name: 'v', anonymous: false } })).toBe('v');
    expect(volumeOfMount(root, { type: 'bind', source: '/store/volumes/v/_data', target: '/x', readonly: false })).toBe('v');
    expect(volumeOfMount(root, { type: 'bind', source: '/store/volumes/v/_data/sub', target: '/x', readonly: false })).toBe('v');
    expect(volumeOfMount(root, { type: 'bind', source: '/store/volumes/v', target: '/x', readonly: false })).toBeUndefined();
    expect(volumeOfMount(root, { type: 'bind', source: '/home/me', target: '/x', readonly: false })).toBeUndefined();
    expect(volumeOfMount(root, { type: 'tmpfs', target: '/x', readonly: false })).toBeUndefined();
  });
  it('maps each volume to the containers that mount it', () => {
    const a = makeRecord('/store', 'a', [parseVolumeFlag('v1:/x'), parseVolumeFlag('v2:/y')]);
    const b = makeRecord('/store', 'b', [parseVolumeFlag('v1:/z'), parseVolumeFlag('v1:/w')]);
    const users = volumeUsers('/store', [a, b]);
    expect(users.get('v1')?.map((u) => u.name)).toEqual(['a', 'b']);
    expect(users.get('v2')?.map((u) => u.name)).toEqual(['a']);
  });
  it('resolveVolumeMounts points volume mounts at _data and leaves the others', () => {
    const bind: UserMount = { type: 'bind', source: '/h', target: '/h', readonly: true };
    const out = resolveVolumeMounts('/store', [bind, parseVolumeFlag('v:/data:ro')]);
    expect(out).toEqual([bind, { type: 'bind', source: '/store/volumes/v/_data', target: '/data', readonly: true, volume: { name: 'v', anonymous: false } }]);
  });
});

describe('volumes of containers', () => {
  it('create makes named volumes on first use and records the mount source', async () => {
    const ctx = newCtx();
    const record = await createContainer(ctx, 'web', { v: ['cache:/cache'] });
    expect(readVolume(ctx.root, 'cache')).toMatchObject({ anonymous: false });
    expect(record.spec.mounts[0]?.source).toBe(volumeDataDir(ctx.root, 'cache'));
    const list = await listVolumes(ctx);
    expect(list).toMatchObject([{ name: 'cache', driver: 'local', mountpoint: volumeDataDir(ctx.root, 'cache'), containers: [{ id: record.id, name: 'web' }] }]);
  });

  it('create makes anonymous volumes for the container; a failed bundle write takes them back', async () => {
    const ctx = newCtx();
    const record = await createContainer(ctx, 'a', { mount: ['type=volume,target=/scratch'] }, true);
    const name = record.spec.mounts[0]?.volume?.name as string;
    expect(readVolume(ctx.root, name)).toMatchObject({ anonymous: true, container: record.id, removeWithContainer: true });

    const failing = makeRecord(ctx.root, 'b', [parseVolumeFlag('/anon'), parseVolumeFlag('named:/n')]);
    await expect(withContainerVolumes(ctx, failing, () => {
      throw new Error('disk full');
    })).rejects.toThrow('disk full');
    expect(readVolume(ctx.root, failing.spec.mounts[0]?.volume?.name as string)).toBeUndefined();
    expect(readVolume(ctx.root, 'named')).toBeDefined(); // named volumes stay, as Docker's
  });

  it('removing a --rm container removes its anonymous volumes, not its named ones', async () => {
    const ctx = newCtx();
    const rmd = await createContainer(ctx, 'rmd', { v: ['/anon', 'keep:/keep'] }, true);
    const anon = rmd.spec.mounts[0]?.volume?.name as string;
    writeFileSync(join(volumeDataDir(ctx.root, anon), 'f'), 'x');
    removeBundle(ctx, rmd);
    expect(await removeAnonymousVolumes(ctx, rmd)).toEqual([anon]);
    expect(readVolume(ctx.root, anon)).toBeUndefined();
    expect(readVolume(ctx.root, 'keep')).toBeDefined();
    expect(readdirSync(volumesDir(ctx.root)).filter((n) => !n.startsWith('.lock'))).toEqual(['keep']);
  });

  it('a container without --rm leaves its anonymous volume for prune', async () => {
    const ctx = newCtx();
    const kept = await createContainer(ctx, 'kept', { mount: ['type=volume,target=/scratch'] });
    const anon = kept.spec.mounts[0]?.volume?.name as string;
    removeBundle(ctx, kept);
    expect(await removeAnonymousVolumes(ctx, kept)).toEqual([]);
    expect((await listVolumes(ctx)).map((v) => v.name)).toEqual([anon]);
  });

  it('an anonymous volume another container mounts by name stays', async () => {
    const ctx = newCtx();
    const rmd = await createContainer(ctx, 'rmd', { v: ['/anon'] }, true);
    const anon = rmd.spec.mounts[0]?.volume?.name as string;
    await createContainer(ctx, 'other', { v: [`${anon}:/borrowed`] });
    removeBundle(ctx, rmd);
    expect(await removeAnonymousVolumes(ctx, rmd)).toEqual([]);
    expect(readVolume(ctx.root, anon)).toBeDefined();
  });

  it('listing sweeps the anonymous volumes of --rm containers that are gone', async () => {
    const ctx = newCtx();
    const rmd = await createContainer(ctx, 'rmd', { v: ['/anon'] }, true);
    const alive = await createContainer(ctx, 'alive', { v: ['/anon2'] }, true);
    expect(await listVolumes(ctx)).toHaveLength(2);
    removeBundle(ctx, rmd); // as the monitor does for a detached --rm container that ends
    expect((await listVolumes(ctx)).map((v) => v.containers[0]?.name)).toEqual(['alive']);
    expect(alive.autoRemove).toBe(true);
  });
});

describe('volume services', () => {
  it('create is idempotent, inspect reports, unknown names fail', async () => {
    const ctx = newCtx();
    expect(createVolume(ctx, 'v', { labels: { a: 'b' } })).toEqual({ name: 'v', created: true });
    expect(createVolume(ctx, 'v', { labels: {} })).toEqual({ name: 'v', created: false });
    expect(() => createVolume(ctx, '/abs', { labels: {} })).toThrow('volume create: `/abs` is not a valid volume name');
    const [info] = await inspectVolumes(ctx, ['v']);
    expect(info).toMatchObject({ name: 'v', labels: { a: 'b' }, anonymous: false, containers: [] });
    await expect(inspectVolumes(ctx, ['v', 'nope'])).rejects.toMatchObject({ code: 'VOLUME_NOT_FOUND', message: 'no such volume: `nope`' });
  });

  it('rm refuses a volume in use, naming the containers, even with --force', async () => {
    const ctx = newCtx();
    await createContainer(ctx, 'web', { v: ['data:/data'] });
    await createContainer(ctx, 'worker', { v: ['data:/d'] });
    createVolume(ctx, 'free', { labels: {} });
    for (const force of [false, true]) {
      const error = await removeVolumes(ctx, ['free', 'data'], { force }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'VOLUME_IN_USE', message: 'volume `data` is in use by containers web, worker' });
      expect((error as { hint: string }).hint).toMatch(/devenv container rm web worker.*devenv down/);
    }
    // nothing was removed: every name is checked first
    expect(readVolume(ctx.root, 'free')).toBeDefined();
  });

  it('rm removes volumes and their data; --force skips missing names', async () => {
    const ctx = newCtx();
    createVolume(ctx, 'a', { labels: {} });
    createVolume(ctx, 'b', { labels: {} });
    writeFileSync(join(volumeDataDir(ctx.root, 'a'), 'f'), 'x');
    await expect(removeVolumes(ctx, ['a', 'missing'], { force: false })).rejects.toMatchObject({ code: 'VOLUME_NOT_FOUND' });
    expect(await removeVolumes(ctx, ['a', 'missing', 'a'], { force: true })).toEqual({ removed: ['a'] });
    expect((await listVolumes(ctx)).map((v) => v.name)).toEqual(['b']);
    expect(readdirSync(volumesDir(ctx.root)).sort()).toEqual(['.lock', 'b']);
  });

  it('rm uses the injected tree remover (rootless: the runtime remove-tree)', async () => {
    const ctx = newCtx();
    const seen: string[] = [];
    createVolume(ctx, 'a', { labels: {} });
    await removeVolumes({ ...ctx, volumes: { removeTree: (dir) => { seen.push(dir); rmSync(dir, { recursive: true }); } } }, ['a'], { force: false });
    expect(seen).toHaveLength(1);
    expect(existsSync(seen[0] as string)).toBe(false);
  });

  it('prune removes unused anonymous volumes; --all the named ones too', async () => {
    const ctx = newCtx();
    const used = await createContainer(ctx, 'used', { v: ['/anon-used', 'named-used:/n'] });
    const gone = await createContainer(ctx, 'gone', { v: ['/anon-gone'] });
    removeBundle(ctx, gone);
    createVolume(ctx, 'named-free', { labels: {} });
    const anonGone = gone.spec.mounts[0]?.volume?.name as string;
    expect(await pruneVolumes(ctx, { all: false })).toEqual({ removed: [anonGone] });
    expect(await pruneVolumes(ctx, { all: true })).toEqual({ removed: ['named-free'] });
    const left = (await listVolumes(ctx)).map((v) => v.name).sort();
    expect(left).toEqual([used.spec.mounts[0]?.volume?.name as string, 'named-used'].sort());
  });
});

describe('volumes of one container', () => {
  it('containerVolumes lists each volume once, anonymous ones marked', () => {
    const record = makeRecord('/store', 'c', [
      parseVolumeFlag('data:/a'),
      parseVolumeFlag('data:/b'),
      { type: 'bind', source: '/store/volumes/other/_data', target: '/o', readonly: false },
      parseMountFlag('type=volume,target=/scratch'),
      { type: 'tmpfs', target: '/t', readonly: false },
    ]);
    const anon = record.spec.mounts[3]?.volume?.name as string;
    expect(containerVolumes('/store', record)).toEqual([
      { name: 'data', anonymous: false },
      { name: 'other', anonymous: false },
      { name: anon, anonymous: true },
    ]);
  });
  it('removeAnonymousVolumes with always removes them for a container made without --rm', async () => {
    const ctx = newCtx();
    const kept = await createContainer(ctx, 'kept', { v: ['/anon'] });
    removeBundle(ctx, kept);
    const anon = kept.spec.mounts[0]?.volume?.name as string;
    expect(await removeAnonymousVolumes(ctx, kept, { always: true })).toEqual([anon]);
  });
});
