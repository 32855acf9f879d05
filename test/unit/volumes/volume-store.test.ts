import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

import { checkVolumeName, isVolumeName, newAnonymousVolumeName } from '../../../src/volumes/volume-name.js';
import {
  ensureVolume,
  listVolumeRecords,
  readVolume,
  removeVolume,
  removeVolumeLeftovers,
  volumeDataDir,
  volumesDir,
} from '../../../src/volumes/volume-store.js';

const rm = (dir: string): void => rmSync(dir, { recursive: true, force: true });

function newRoot(): string {
  return mkdtempSync(join(tmpdir(), 'devenv-volumes-'));
}

describe('volume names', () => {
  it("follow Docker's rule", () => {
    for (const ok of ['a', 'data', 'web-1.cache_2', '0abc', 'A']) expect(isVolumeName(ok)).toBe(true);
    for (const bad of ['', '-x', '.x', '_x', 'a/b', 'a:b', 'a b', 'ü', 'x'.repeat(256)]) expect(isVolumeName(bad)).toBe(false);
    expect(() => checkVolumeName('a/b', '-v `a/b:/x`')).toThrow('-v `a/b:/x`: `a/b` is not a valid volume name');
  });
  it('anonymous names are 64 hex digits', () => {
    const a = newAnonymousVolumeName();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(newAnonymousVolumeName()).not.toBe(a);
  });
});

describe('volume store', () => {
  it('makes a volume on first use: record and an empty _data of the user, mode 0755', () => {
    const root = newRoot();
    const first = ensureVolume(root, 'data', { labels: { project: 'web' } });
    expect(first.created).toBe(true);
    expect(first.volume).toMatchObject({ name: 'data', labels: { project: 'web' }, anonymous: false });
    const data = volumeDataDir(root, 'data');
    expect(data).toBe(join(root, 'volumes', 'data', '_data'));
    const st = statSync(data);
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o7777).toBe(0o755);
    expect(st.uid).toBe(process.getuid?.());
    expect(readdirSync(data)).toEqual([]);
    expect(JSON.parse(readFileSync(join(root, 'volumes', 'data', 'volume.json'), 'utf8'))).toMatchObject({ name: 'data', anonymous: false });
    // no temp directories left
    expect(readdirSync(volumesDir(root))).toEqual(['data']);
    rm(root);
  });

  it('reuses an existing volume, labels and data untouched', () => {
    const root = newRoot();
    ensureVolume(root, 'data', { labels: { a: '1' } });
    writeFileSync(join(volumeDataDir(root, 'data'), 'kept'), 'x');
    const again = ensureVolume(root, 'data', { labels: { b: '2' } });
    expect(again.created).toBe(false);
    expect(again.volume.labels).toEqual({ a: '1' });
    expect(existsSync(join(volumeDataDir(root, 'data'), 'kept'))).toBe(true);
    rm(root);
  });

  it('records anonymous volumes with the container they were made for', () => {
    const root = newRoot();
    const name = newAnonymousVolumeName();
    ensureVolume(root, name, { anonymous: true, container: 'c'.repeat(64), removeWithContainer: true });
    expect(readVolume(root, name)).toMatchObject({ anonymous: true, container: 'c'.repeat(64), removeWithContainer: true });
    rm(root);
  });

  it('refuses invalid names', () => {
    const root = newRoot();
    expect(() => ensureVolume(root, '../escape')).toThrow(/not a valid volume name/);
    expect(existsSync(join(root, 'escape'))).toBe(false);
    rm(root);
  });

  it('lists volumes by name, skipping its own dot entries; a volume with a lost record still counts', () => {
    const root = newRoot();
    ensureVolume(root, 'b');
    ensureVolume(root, 'a');
    mkdirSync(join(volumesDir(root), '.tmp-123'));
    writeFileSync(join(volumesDir(root), '.lock'), '');
    mkdirSync(join(volumesDir(root), 'lost', '_data'), { recursive: true });
    expect(listVolumeRecords(root).map((v) => v.name)).toEqual(['a', 'b', 'lost']);
    expect(readVolume(root, 'lost')).toMatchObject({ name: 'lost', anonymous: false, labels: {} });
    expect(readVolume(root, 'missing')).toBeUndefined();
    expect(listVolumeRecords(newRoot())).toEqual([]);
    rm(root);
  });

  it('removes a volume: the name is free at once, the files go through removeTree', () => {
    const root = newRoot();
    ensureVolume(root, 'data');
    writeFileSync(join(volumeDataDir(root, 'data'), 'f'), 'x');
    const removedDirs: string[] = [];
    expect(removeVolume(root, 'data', (dir) => removedDirs.push(dir))).toBe(true);
    expect(readVolume(root, 'data')).toBeUndefined();
    expect(removedDirs).toHaveLength(1);
    expect(removedDirs[0]).toMatch(/\/volumes\/\.rm-[0-9a-f]+$/);
    // the failed (here: skipped) removal is retried by removeVolumeLeftovers
    expect(removeVolumeLeftovers(root, (dir) => rm(dir))).toEqual(removedDirs);
    expect(readdirSync(volumesDir(root))).toEqual([]);
    expect(removeVolume(root, 'data', () => undefined)).toBe(false);
    rm(root);
  });

  it('leaves young half-made volumes to the create making them', () => {
    const root = newRoot();
    ensureVolume(root, 'data');
    const young = join(volumesDir(root), '.tmp-young');
    const old = join(volumesDir(root), '.tmp-old');
    mkdirSync(young);
    mkdirSync(old);
    const past = new Date(Date.now() - 120_000);
    utimesSync(old, past, past);
    expect(removeVolumeLeftovers(root, (dir) => rm(dir))).toEqual([old]);
    expect(existsSync(young)).toBe(true);
    rm(root);
  });

  it('two processes making the same volume at once both succeed, with one volume', async () => {
    const root = newRoot();
    const script = join(root, 'ensure.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('../../../src/volumes/volume-store.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: join(root, 'volume-store.mjs'),
      logLevel: 'silent',
    });
    writeFileSync(
      script,
      `import { ensureVolume } from './volume-store.mjs';\n` +
        `const [root, name, n] = process.argv.slice(2);\n` +
        `const made = [];\n` +
        `for (let i = 0; i < Number(n); i++) made.push(ensureVolume(root, name + i, { labels: { by: String(process.pid) } }).created);\n` +
        `process.stdout.write(JSON.stringify(made));\n`,
    );
    const store = join(root, 'store');
    const runOne = (): Promise<{ code: number | null; out: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [script, store, 'v', '40'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', (code) => resolve({ code, out }));
      });
    const results = await Promise.all([runOne(), runOne(), runOne(), runOne()]);
    for (const r of results) expect(r.code).toBe(0);
    const made = results.map((r) => JSON.parse(r.out) as boolean[]);
    for (let i = 0; i < 40; i++) expect(made.filter((m) => m[i]).length, `volume v${i}`).toBe(1);
    const names = readdirSync(volumesDir(store)).sort();
    expect(names).toEqual(Array.from({ length: 40 }, (_, i) => `v${i}`).sort());
    rm(root);
  });
});
