import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { computeChainIds, openImageStore, type ImageStore } from '../../../../src/image/store/image-store.js';
import { sha256, tempRoot } from '../../services/image/image-fixtures.js';

const A = 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
const B = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';
const C = 'sha256:e7d92cdc71feacf90708cb59182d0df1b911f8ae022d29e8e95d75ca6a99776a';

describe('computeChainIds', () => {
  it('follows the OCI image spec: ChainID(n) = sha256(ChainID(n-1) + " " + DiffID(n))', () => {
    // Computed with coreutils: printf '%s' "$A $B" | sha256sum, then "$AB $C".
    expect(computeChainIds([A, B, C])).toEqual([
      A,
      'sha256:71dec89dc33c1a1cd5f73cd1e0885ec74b73b03fb9d5a98fddb6486563565072',
      'sha256:4d8c2206be706963a95997dfbe113192ee02cf93dd42ab881acb394af4bd4bd3',
    ]);
    expect(computeChainIds([])).toEqual([]);
  });

  it('depends on the layers below: the same diff id on other parents has another chain id', () => {
    expect(computeChainIds([B, C])[1]).not.toBe(computeChainIds([A, B, C])[2]);
  });
});

let root: string;
let cleanup: () => void;
let store: ImageStore;

beforeEach(() => {
  ({ root, cleanup } = tempRoot());
  store = openImageStore(root);
});
afterEach(() => cleanup());

function input(chainId: string, unpack: (dir: string) => Promise<void>) {
  return { chainId, diffId: chainId, blobDigest: chainId, unpack };
}

describe('layer store', () => {
  it('unpacks into a temporary directory and renames it into place with layer.json', async () => {
    let seenDir = '';
    const { created, record } = await store.layers.ensure(
      input(A, async (dir) => {
        seenDir = dir;
        writeFileSync(join(dir, 'hello'), 'hello world');
      }),
    );
    expect(created).toBe(true);
    expect(seenDir).toMatch(/\/images\/layers\/a3ed95[0-9a-f]+\.tmp-\d+-\d+\/diff$/);
    expect(readFileSync(join(store.layers.diffDir(A), 'hello'), 'utf8')).toBe('hello world');
    expect(record).toMatchObject({ diffId: A, blobDigest: A, size: 11 });
    expect(store.layers.read(A)).toEqual(record);
    expect(store.layers.list()).toEqual([A]);
    expect(readdirSync(store.paths.layers)).toEqual([A.slice(7)]);
  });

  it('leaves nothing behind when the unpack fails', async () => {
    await expect(
      store.layers.ensure(
        input(A, async (dir) => {
          writeFileSync(join(dir, 'half'), 'x');
          throw new Error('bad tar');
        }),
      ),
    ).rejects.toThrow('bad tar');
    expect(readdirSync(store.paths.layers)).toEqual([]);
    expect(store.layers.has(A)).toBe(false);
  });

  it('unpacks a layer once when two callers (or stores) ask for it at the same time', async () => {
    let unpacks = 0;
    const slow = async (dir: string): Promise<void> => {
      unpacks += 1;
      await sleep(50);
      writeFileSync(join(dir, 'f'), 'x');
    };
    const waits: number[] = [];
    const other = openImageStore(root);
    const results = await Promise.all([
      store.layers.ensure(input(B, slow), { onWait: () => waits.push(1) }),
      other.layers.ensure(input(B, slow), { onWait: () => waits.push(2) }),
      store.layers.ensure(input(B, slow), { onWait: () => waits.push(3) }),
    ]);
    expect(unpacks).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(waits).toHaveLength(2);
  });

  it('replaces a directory that has no layer.json (not a complete layer)', async () => {
    await store.layers.ensure(input(C, async (dir) => writeFileSync(join(dir, 'f'), 'x')));
    const dir = store.layers.dir(C);
    rmSync(join(dir, 'layer.json')); // damage
    expect(store.layers.has(C)).toBe(false);
    const again = await store.layers.ensure(input(C, async (d) => writeFileSync(join(d, 'g'), 'y')));
    expect(again.created).toBe(true);
    expect(existsSync(join(store.layers.diffDir(C), 'g'))).toBe(true);
    expect(readdirSync(store.paths.layers)).toEqual([C.slice(7)]);
  });

  it('removes a layer with the store remover and reports its size', async () => {
    const removed: string[] = [];
    const custom = openImageStore(root, {
      removeTree: (dir) => {
        removed.push(dir);
        rmSync(dir, { recursive: true, force: true });
      },
    });
    await custom.layers.ensure(input(sha256('x'), async (dir) => writeFileSync(join(dir, 'f'), '12345')));
    expect(custom.layers.remove(sha256('x'))).toBe(5);
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatch(/\.rm-\d+-\d+$/);
    expect(readdirSync(store.paths.layers)).toEqual([]);
  });
});
