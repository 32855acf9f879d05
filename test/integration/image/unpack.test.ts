/**
 * The native layer unpacker (`devenv-runtime unpack`, docs/images.md "Native unpacker") on hostile and good layers,
 * as root and as the rootless test user (whose unpack runs in a user namespace with its subordinate ids), and the
 * diff_id it computes in the same decompression pass.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, closeSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DevenvError } from '../../../src/errors.js';
import { compressionForMediaType, unpackLayer } from '../../../src/image/unpack/unpack-layer.js';
import { goodEntries, makeLayerFixtures, SPARSE_SIZE, T, type LayerFixture, type LayerFixtures } from '../../fixtures/layers/make-hostile-layers.js';
import { tarBuffer } from '../../fixtures/layers/tar-writer.js';
import { testUser, uidOf, type Mode } from '../../support/devenv-cli.js';
import { hostState, makeDest, parseStderr, RUNTIME, runUnpack, snapshot, subIdStart, xattrs, type UnpackRun } from './unpack-harness.js';

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`test/integration/image/unpack: these tests need root (uid is ${process.getuid?.()}): run them as root, as CI does`);
  }
  if (!existsSync(RUNTIME)) throw new Error(`${RUNTIME} is not built: run \`node scripts/build-native.js\``);
}

const sec = (ms: number) => Math.round(ms / 1000);

/** `sha256sum` and length of a layer's uncompressed tar, decompressed by the gzip and zstd tools. */
function toolDiffId(fx: LayerFixture): { diffId: string; size: number } {
  const tool = fx.compression === 'gzip' ? ['gzip', '-dc'] : fx.compression === 'zstd' ? ['zstd', '-qdc'] : ['cat'];
  const tar = spawnSync(tool[0] as string, [...tool.slice(1), fx.path], { maxBuffer: 1 << 30 }).stdout;
  const sum = spawnSync('sha256sum', { input: tar, encoding: 'utf8' }).stdout.split(' ')[0];
  return { diffId: `sha256:${sum}`, size: tar.length };
}

/** As the harness's runUnpack, with extra arguments, and the result line from stdout. */
function runWithResult(mode: Mode, dest: string, fx: LayerFixture, idmap: string, extra: string[] = []): UnpackRun & { stdout: string; result?: unknown } {
  const args = ['unpack', '--layer', fx.path, '--dest', dest, '--compression', fx.compression, ...extra];
  if (mode === 'rootless') args.push('--rootless', '--idmap', idmap);
  const r =
    mode === 'root'
      ? spawnSync(RUNTIME, args, { encoding: 'utf8', timeout: 120_000 })
      : spawnSync('runuser', ['-u', testUser(), '--', RUNTIME, ...args], { encoding: 'utf8', timeout: 120_000 });
  const { errors, warnings, stray } = parseStderr(r.stderr ?? '');
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.trim());
  const result = lines.length === 1 ? (JSON.parse(lines[0] as string) as unknown) : undefined;
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', dest, ...(errors[0] ? { error: errors[0] } : {}), warnings, stray, result };
}

describe.each(['root', 'rootless'] as const)('devenv-runtime unpack as %s', (mode: Mode) => {
  let base = '';
  let sentinel = '';
  let store = '';
  let fixtures: LayerFixtures;
  let idmap = '';
  let hostUid = 0;
  let subStart = 0;
  /** Host uid of an id inside the layer. */
  const own = (inside: number) => (mode === 'root' ? inside : inside === 0 ? hostUid : subStart + inside - 1);
  const dest = (name: string) => makeDest(store, name, mode === 'rootless' ? hostUid : undefined);
  const run = (fx: Parameters<typeof runUnpack>[2], env?: Record<string, string>, into?: string) =>
    runUnpack(mode, into ?? dest(fx.name), fx, { idmap, ...(env ? { env } : {}) });

  beforeAll(() => {
    requireRoot();
    base = mkdtempSync(join(tmpdir(), `devenv-unpack-${mode}-`));
    chmodSync(base, 0o755);
    fixtures = makeLayerFixtures(join(base, 'fixtures'));
    // The sentinel: everything a hostile layer could reach by climbing out of store/layers/<dest>.
    sentinel = join(base, 'sentinel');
    store = join(sentinel, 'store');
    mkdirSync(join(store, 'layers'), { recursive: true });
    writeFileSync(join(sentinel, 'keep.txt'), 'sentinel');
    hostUid = mode === 'root' ? 0 : uidOf(testUser());
    if (mode === 'rootless') {
      chownSync(store, hostUid, hostUid);
      chownSync(join(store, 'layers'), hostUid, hostUid);
      subStart = subIdStart('/etc/subuid', testUser());
      expect(subIdStart('/etc/subgid', testUser())).toBe(subStart); // the owner checks below assume equal ranges
    }
    const maps = [
      { containerID: 0, hostID: hostUid, size: 1 },
      { containerID: 1, hostID: subStart, size: 65536 },
    ];
    idmap = join(base, 'idmap.json');
    writeFileSync(idmap, JSON.stringify({ uidMappings: maps, gidMappings: maps }), { mode: 0o644 });
  });

  afterAll(() => {
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('refuses every hostile layer with one JSON error and exit 1, writing nothing outside the layer directory', () => {
    expect(fixtures.hostile.length).toBeGreaterThanOrEqual(15);
    for (const fx of fixtures.hostile) {
      const into = dest(fx.name);
      const hostBefore = hostState();
      const before = snapshot(sentinel);
      const r = run(fx, fx.env, into);
      const label = `${fx.name}: ${r.stderr}`;
      expect(r.code, label).toBe(1);
      expect(r.stray, label).toEqual([]);
      expect(r.error?.code, label).toBe(fx.code);
      expect(r.error?.message, label).toMatch(fx.message);
      expect(r.error?.exitCode, label).toBe(1);
      expect(r.stderr.split('\n').filter((l) => l.includes('"type":"error"')), label).toHaveLength(1);
      // Outside DIR: nothing new, nothing changed (DIR itself is the caller's to delete).
      const after = snapshot(sentinel, r.dest);
      for (const path of after.keys()) if (path.startsWith(`${r.dest}/`)) after.delete(path);
      expect([...after.entries()].filter(([p, v]) => before.get(p) !== v && p !== r.dest), label).toEqual([]);
      expect([...before.keys()].filter((p) => !after.has(p) && p !== r.dest), label).toEqual([]);
      expect(hostState(), label).toBe(hostBefore);
      expect(existsSync('/etc/devenv-unpack-evil'), label).toBe(false);
      expect(existsSync(join(sentinel, 'devenv-escaped')) || existsSync(join(store, 'devenv-escaped')), label).toBe(false);
    }
  });

  function checkGoodTree(r: UnpackRun): void {
    expect(r.code, r.stderr).toBe(0);
    expect(r.error).toBeUndefined();
    expect(r.stray).toEqual([]);
    const p = (rel: string) => join(r.dest, rel);
    const root = statSync(r.dest);
    expect(root.mode & 0o7777).toBe(0o755);
    expect(sec(root.mtimeMs)).toBe(T.root);
    expect(root.uid).toBe(own(0));
    expect(readFileSync(p('etc/passwd'), 'utf8')).toContain('root:x:0:0');

    const home = statSync(p('home/user'));
    expect([home.mode & 0o7777, home.uid, home.gid, sec(home.mtimeMs)]).toEqual([0o750, own(1000), own(1000), T.homeUser]);
    const file = statSync(p('home/user/file'));
    expect([file.mode & 0o7777, file.uid, file.gid]).toEqual([0o640, own(1000), own(1000)]);
    expect([sec(file.mtimeMs), sec(file.atimeMs)]).toEqual([T.file, T.fileAtime]);

    const su = statSync(p('bin/su'));
    expect([su.mode & 0o7777, su.uid]).toEqual([0o4755, own(0)]);
    const sgid = statSync(p('bin/sgid'));
    expect([sgid.mode & 0o7777, sgid.uid, sgid.gid]).toEqual([0o2755, own(1000), own(1000)]);
    const link = statSync(p('bin/link'));
    expect([link.ino, link.nlink]).toEqual([su.ino, 2]);
    expect(readlinkSync(p('bin/rel'))).toBe('su');
    expect(sec(lstatSync(p('bin/rel')).mtimeMs)).toBe(T.symlink);
    expect(readlinkSync(p('bin/abs'))).toBe('/etc/passwd');
    expect(lstatSync(p('bin/abs')).uid).toBe(own(0));
    const relHard = lstatSync(p('bin/rel-hard'));
    expect([relHard.isSymbolicLink(), relHard.ino, relHard.nlink]).toEqual([true, lstatSync(p('bin/rel')).ino, 2]);

    const fx = xattrs(p('xattr/file'));
    expect(fx['user.devenv.test']).toBe('hello');
    expect(fx['trusted.devenv.test']).toBe(mode === 'root' ? 'secret' : undefined);
    expect(xattrs(p('xattr/dir'))['user.devenv.dir']).toBe('yes');
    expect(xattrs(p('xattr/overlay'))).toEqual({}); // overlayfs's own attributes never come from a layer
    expect(r.warnings.some((w) => /skipped \d+ extended attribute/.test(w))).toBe(true);

    const sparse = statSync(p('sparse'));
    expect(sparse.size).toBe(SPARSE_SIZE);
    expect(sparse.blocks * 512).toBeLessThan(1024 * 1024);
    const fd = openSync(p('sparse'), 'r');
    const at = (offset: number) => {
      const b = Buffer.alloc(4096);
      readSync(fd, b, 0, 4096, offset);
      return b;
    };
    expect(at(0).equals(Buffer.alloc(4096, 'A'))).toBe(true);
    expect(at(SPARSE_SIZE / 2).equals(Buffer.alloc(4096, 'M'))).toBe(true);
    expect(at(8192).equals(Buffer.alloc(4096))).toBe(true);
    expect(at(SPARSE_SIZE - 4096).equals(Buffer.alloc(4096))).toBe(true);
    closeSync(fd);

    const fifo = lstatSync(p('fifo'));
    expect([fifo.isFIFO(), fifo.mode & 0o7777]).toEqual([true, 0o600]);
    expect(readFileSync(p(`long/${'n'.repeat(150)}/file`), 'utf8')).toBe('long');
    expect(readdirSync(p('utf8'))).toEqual(['héllo-世界.txt']);
    expect(readFileSync(p('abs/leading'), 'utf8')).toBe('stripped');
    expect(readFileSync(p('dot/x'), 'utf8')).toBe('dot');
    expect(readFileSync(p('b'), 'utf8')).toBe('cleaned');
    expect(existsSync(p('a'))).toBe(false);
    const implicit = statSync(p('implicit/parent'));
    expect([implicit.isDirectory(), implicit.mode & 0o7777, implicit.uid]).toEqual([true, 0o755, own(0)]);

    for (const wh of ['removed', 'wh/gone']) {
      const st = lstatSync(p(wh));
      expect([st.isCharacterDevice(), st.rdev], wh).toEqual([true, 0]);
    }
    expect(existsSync(p('.wh.removed'))).toBe(false);
    const opaque = xattrs(p('opq'));
    expect(opaque[mode === 'root' ? 'trusted.overlay.opaque' : 'user.overlay.opaque']).toBe('y');
    expect(readdirSync(p('opq'))).toEqual(['kept']);
    expect(sec(statSync(p('opq')).mtimeMs)).toBe(T.opq);
    expect(existsSync(p('.wh..wh.plnk'))).toBe(false);
  }

  it('unpacks a gzip layer with modes, owners, times, xattrs, links, whiteouts, an opaque dir and a sparse file', () => {
    checkGoodTree(run(fixtures.good));
  });

  it('unpacks the same layer compressed with zstd and uncompressed', () => {
    checkGoodTree(run(fixtures.goodZstd));
    checkGoodTree(run(fixtures.goodPlain));
  });

  it('lets later duplicate entries win without writing through replaced links', () => {
    const r = run(fixtures.duplicates);
    expect(r.code, r.stderr).toBe(0);
    const p = (rel: string) => join(r.dest, rel);
    expect(readFileSync(p('a'), 'utf8')).toBe('two');
    expect(statSync(p('d')).mode & 0o7777).toBe(0o700);
    expect(readdirSync(p('d'))).toEqual(['keep']);
    expect(statSync(p('e')).isDirectory()).toBe(true);
    expect(readFileSync(p('f'), 'utf8')).toBe('now a file');
    expect(readFileSync(p('h'), 'utf8')).toBe('replaced');
    expect(statSync(p('h')).ino).not.toBe(statSync(p('a')).ino);
    expect(lstatSync(p('t')).isFile()).toBe(true);
    expect(readFileSync(p('t'), 'utf8')).toBe('not through the symlink');
    const x = lstatSync(p('x'));
    expect([x.isCharacterDevice(), x.rdev]).toEqual([true, 0]);
  });

  it(mode === 'root' ? 'creates device nodes' : 'skips device nodes with one counted warning', () => {
    const r = run(fixtures.devices);
    expect(r.code, r.stderr).toBe(0);
    const p = (rel: string) => join(r.dest, rel);
    expect(lstatSync(p('dev/fifo')).isFIFO()).toBe(true);
    expect(readFileSync(p('dev/regular'), 'utf8')).toBe('still here');
    if (mode === 'root') {
      const nul = lstatSync(p('dev/null'));
      expect([nul.isCharacterDevice(), nul.rdev, nul.mode & 0o7777]).toEqual([true, (1 << 8) | 3, 0o666]);
      const sda = lstatSync(p('dev/sda'));
      expect([sda.isBlockDevice(), sda.rdev]).toEqual([true, 8 << 8]);
      expect(r.warnings).toEqual([]);
    } else {
      expect(existsSync(p('dev/null')) || existsSync(p('dev/sda'))).toBe(false);
      expect(r.warnings).toEqual([expect.stringMatching(/skipped 2 device node\(s\).*dev\/null/)]);
    }
  });

  const runResult = (fx: LayerFixture, extra: string[] = [], into?: string) => runWithResult(mode, into ?? dest(fx.name), fx, idmap, extra);

  it('reports the diff_id, the sha256 of the whole uncompressed tar, and its size on stdout for gzip, zstd and none', () => {
    for (const fx of [fixtures.good, fixtures.goodZstd, fixtures.goodPlain, fixtures.empty]) {
      const r = runResult(fx);
      expect(r.code, `${fx.name}: ${r.stderr}`).toBe(0);
      expect(r.result, fx.name).toEqual({ type: 'result', ...toolDiffId(fx) });
      expect(r.stray).toEqual([]);
      expect(runResult(fx, ['--expect-diff-id', toolDiffId(fx).diffId]).code, fx.name).toBe(0);
    }
  });

  it('fails with EBADMSG and exit 1 when the content is not the expected diff_id, changing nothing outside DIR', () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    for (const fx of [fixtures.good, fixtures.goodZstd, fixtures.goodPlain]) {
      const into = dest(fx.name);
      const before = snapshot(sentinel);
      const r = runResult(fx, ['--expect-diff-id', wrong], into);
      expect(r.code, r.stderr).toBe(1);
      expect([r.stdout, r.stray]).toEqual(['', []]);
      expect(r.error).toMatchObject({ code: 'EBADMSG', exitCode: 1 });
      expect(r.error?.message).toBe(`layer content does not match its diff_id: expected ${wrong}, got ${toolDiffId(fx).diffId}`);
      const after = snapshot(sentinel, into);
      for (const path of after.keys()) if (path.startsWith(`${into}/`)) after.delete(path);
      expect([...after.entries()].filter(([p, v]) => before.get(p) !== v && p !== into), fx.name).toEqual([]);
      expect([...before.keys()].filter((p) => !after.has(p)), fx.name).toEqual([]);
    }
    expect(runResult(fixtures.good, ['--expect-diff-id', 'sha256:XYZ']).error?.message).toMatch(/--expect-diff-id must be sha256:/);
  });

  it('unpacks a multi-member gzip layer, hashing the whole stream (extra zero blocks too), ignoring trailing bytes', () => {
    const tar = Buffer.concat([tarBuffer(goodEntries()), Buffer.alloc(3 << 20)]); // past what libarchive reads ahead
    const cuts = [0, 777, Math.floor(tar.length / 2) + 3, tar.length];
    const gz = Buffer.concat(cuts.slice(1).map((end, i) => gzipSync(tar.subarray(cuts[i], end))));
    const layer = (name: string, bytes: Buffer): LayerFixture => {
      const path = join(base, 'fixtures', `${name}.tar.gz`);
      writeFileSync(path, bytes, { mode: 0o644 });
      return { name, path, compression: 'gzip', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
    };
    const expected = { type: 'result', diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}`, size: tar.length };
    const r = runResult(layer('multi-member', gz));
    checkGoodTree(r);
    expect(r.result).toEqual(expected);
    const junk = runResult(layer('multi-member-junk', Buffer.concat([gz, Buffer.from('junk')])));
    expect(junk.code, junk.stderr).toBe(0);
    expect(junk.result).toEqual(expected);
    expect(junk.warnings).toContainEqual(expect.stringMatching(/ignored 4 byte\(s\) after the end of the layer's gzip stream/));
  });

  it('unpacks a layer whose bytes are not what its label says, with a warning, and an empty layer', () => {
    const r = run(fixtures.mislabelled);
    expect(r.code, r.stderr).toBe(0);
    expect(r.warnings.some((w) => /labelled gzip but is none/.test(w))).toBe(true);
    expect(readFileSync(join(r.dest, 'etc/passwd'), 'utf8')).toContain('root');
    const e = run(fixtures.empty);
    expect(e.code, e.stderr).toBe(0);
    expect(readdirSync(e.dest)).toEqual([]);
  });
});

describe('unpackLayer (the TypeScript wrapper)', () => {
  let base = '';
  let fixtures: LayerFixtures;
  const digestOf = (path: string) => `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;

  beforeAll(() => {
    requireRoot();
    base = mkdtempSync(join(tmpdir(), 'devenv-unpack-ts-'));
    fixtures = makeLayerFixtures(join(base, 'fixtures'));
  });
  afterAll(() => {
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('maps layer media types to the unpacker compression', () => {
    expect(compressionForMediaType('application/vnd.oci.image.layer.v1.tar')).toBe('none');
    expect(compressionForMediaType('application/vnd.oci.image.layer.v1.tar+gzip')).toBe('gzip');
    expect(compressionForMediaType('application/vnd.oci.image.layer.v1.tar+zstd')).toBe('zstd');
    expect(compressionForMediaType('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe('gzip');
    expect(compressionForMediaType('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip')).toBe('gzip');
    expect(compressionForMediaType('application/vnd.oci.image.layer.nondistributable.v1.tar+zstd')).toBe('zstd');
    expect(compressionForMediaType('application/vnd.oci.image.config.v1+json')).toBeUndefined();
  });

  it('unpacks a good layer, mapping ids when asked to', async () => {
    const dest = join(base, 'plain');
    mkdirSync(dest);
    await unpackLayer({ blobPath: fixtures.good.path, mediaType: fixtures.good.mediaType, destDir: dest, rootless: false });
    expect(statSync(join(dest, 'home/user/file')).uid).toBe(1000);
    const mapped = join(base, 'mapped');
    mkdirSync(mapped);
    chownSync(mapped, 200_000, 200_000); // as a rootless store's directory is owned by the id mapped to root
    const maps = [{ containerID: 0, hostID: 200_000, size: 65536 }];
    const warnings: string[] = [];
    await unpackLayer({
      blobPath: fixtures.good.path,
      mediaType: fixtures.good.mediaType,
      destDir: mapped,
      rootless: true,
      idMappings: { uidMappings: maps, gidMappings: maps },
      onWarning: (w) => warnings.push(w),
    });
    expect(statSync(join(mapped, 'home/user/file')).uid).toBe(201_000);
    expect(xattrs(join(mapped, 'opq'))['user.overlay.opaque']).toBe('y');
    expect(warnings.some((w) => /extended attribute/.test(w))).toBe(true);
  });

  it('turns a hostile layer into LAYER_INVALID naming the layer digest', async () => {
    const fx = fixtures.hostile.find((h) => h.name === 'absolute-symlink-parent');
    if (!fx) throw new Error('fixture missing');
    const blobs = join(base, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const digest = digestOf(fx.path);
    const blobPath = join(blobs, digest.slice('sha256:'.length));
    copyFileSync(fx.path, blobPath);
    const dest = join(base, 'hostile');
    mkdirSync(dest);
    const error = await unpackLayer({ blobPath, mediaType: fx.mediaType, destDir: dest, rootless: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DevenvError);
    expect((error as DevenvError).code).toBe('LAYER_INVALID');
    expect((error as DevenvError).message).toContain(digest);
    expect((error as DevenvError).message).toMatch(/goes through the symlink `etc`/);
  });

  it('resolves with the diff_id and size, and rejects content other than expectDiffId as DIGEST_MISMATCH', async () => {
    const [diffId, size] = [toolDiffId(fixtures.goodZstd).diffId, toolDiffId(fixtures.goodZstd).size];
    const into = (name: string) => {
      mkdirSync(join(base, name));
      return join(base, name);
    };
    const options = { blobPath: fixtures.goodZstd.path, mediaType: fixtures.goodZstd.mediaType, rootless: false, digest: 'sha256:abc' };
    expect(await unpackLayer({ ...options, destDir: into('verified'), expectDiffId: diffId })).toEqual({ diffId, size });
    const wrong = `sha256:${'1'.repeat(64)}`;
    const error = await unpackLayer({ ...options, destDir: into('wrong'), expectDiffId: wrong }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DevenvError);
    expect((error as DevenvError).code).toBe('DIGEST_MISMATCH');
    expect((error as DevenvError).message).toBe(`layer sha256:abc: its uncompressed content has digest ${diffId}, the image config says ${wrong}`);
  });

  it('reports a runtime failure as RUNTIME_SETUP and an unknown media type as LAYER_INVALID', async () => {
    const missing = join(base, 'no-such-dir');
    const error = await unpackLayer({ blobPath: fixtures.good.path, mediaType: fixtures.good.mediaType, destDir: missing, rootless: false, digest: 'sha256:abc' }).catch((e: unknown) => e);
    expect((error as DevenvError).code).toBe('RUNTIME_SETUP');
    expect((error as DevenvError).message).toMatch(/sha256:abc.*no-such-dir/);
    const bad = await unpackLayer({ blobPath: fixtures.good.path, mediaType: 'application/json', destDir: base, rootless: false }).catch((e: unknown) => e);
    expect((bad as DevenvError).code).toBe('LAYER_INVALID');
  });
});
