import { readFileSync } from 'node:fs';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openImageStore, type ImageStore } from '../../../../src/image/store/image-store.js';
import { sha256, tempRoot } from '../../services/image/image-fixtures.js';

let cleanup: () => void;
let store: ImageStore;

beforeEach(() => {
  const t = tempRoot();
  cleanup = t.cleanup;
  store = openImageStore(t.root);
});
afterEach(() => cleanup());

const entry = (n: string) => ({ manifestDigest: sha256(`m${n}`), configDigest: sha256(`c${n}`), created: '2024-01-01T00:00:00Z' });

describe('image index', () => {
  it('tags and untags references, written atomically as sorted JSON', async () => {
    await store.index.set('docker.io/library/b:1', entry('1'));
    await store.index.set('docker.io/library/a:1', entry('2'));
    expect(store.index.get('docker.io/library/b:1')).toEqual(entry('1'));
    expect(Object.keys(JSON.parse(readFileSync(store.paths.index, 'utf8')).images)).toEqual(['docker.io/library/a:1', 'docker.io/library/b:1']);
    expect(await store.index.remove('docker.io/library/a:1')).toBe(true);
    expect(await store.index.remove('docker.io/library/a:1')).toBe(false);
    expect(store.index.entries().map(([r]) => r)).toEqual(['docker.io/library/b:1']);
  });

  it('loses no update when many writers change it at once', async () => {
    const others = [store, openImageStore(store.paths.root), openImageStore(store.paths.root)];
    await Promise.all(Array.from({ length: 30 }, (_, i) => (others[i % 3] as ImageStore).index.set(`docker.io/library/x:${i}`, entry(String(i)))));
    expect(store.index.entries()).toHaveLength(30);
  });

  it('reads a missing index as empty', () => {
    expect(store.index.read()).toEqual({ images: {} });
  });
});
