import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { createStderrLogger } from '../../../src/host/logger.js';
import { openImageStore } from '../../../src/image/store/image-store.js';
import { exportImages } from '../../../src/services/image/export.js';
import { importImage } from '../../../src/services/image/import.js';
import { pushImage } from '../../../src/services/image/push.js';

// Needs the integration project's globalSetup (test/support/registry-global-setup.ts): the registry on
// 127.0.0.1:5055 and the busybox layout. Root only, like every integration test.

function skopeo(args: string[]): { Digest: string; Layers: string[] } & Record<string, unknown> {
  const r = spawnSync('skopeo', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
  return args[0] === 'inspect' ? JSON.parse(r.stdout) : ({} as never);
}

describe('image archives and push, against skopeo and a real registry', () => {
  const unique = `${process.pid}-${Date.now().toString(36)}`;
  let dir: string;
  let ctx: { root: string; logger: ReturnType<typeof createStderrLogger> };
  let layout: string;
  let busyboxDigest: string;
  let registry: string;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('these tests need root (run the integration project as root; `bash .ci/run` does)');
    layout = inject('devenvBusyboxLayout');
    busyboxDigest = inject('devenvBusyboxDigest');
    registry = inject('devenvTestRegistry');
    if (!layout || !registry) throw new Error('the integration globalSetup (test/support/registry-global-setup.ts) did not run: add it to vitest.config.ts');
    dir = mkdtempSync(join(tmpdir(), `devenv-archive-it-${unique}-`));
    ctx = { root: join(dir, 'store'), logger: createStderrLogger('warn') };
    const imported = await importImage(ctx, layout);
    expect(imported.images).toEqual([expect.objectContaining({ references: ['docker.io/library/busybox:latest'], manifestDigest: busyboxDigest })]);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('exports an oci-archive that skopeo reads with the same manifest digest', async () => {
    const file = join(dir, 'busybox-oci.tar');
    const result = await exportImages(ctx, ['busybox'], { output: file, format: 'oci-archive' });
    expect(result.images[0]?.manifestDigest).toBe(busyboxDigest);
    const inspected = skopeo(['inspect', `oci-archive:${file}`]);
    expect(inspected.Digest).toBe(busyboxDigest);
    expect(inspected.Layers).toHaveLength(1);
  });

  it('exports an OCI layout directory skopeo finds by tag', async () => {
    const out = join(dir, 'busybox-dir');
    await exportImages(ctx, ['busybox:latest'], { output: out, format: 'oci-dir' });
    expect(skopeo(['inspect', `oci:${out}:latest`]).Digest).toBe(busyboxDigest);
  });

  it('imports a docker-archive written by skopeo, and exports one skopeo reads', async () => {
    const file = join(dir, 'from-skopeo.tar');
    skopeo(['copy', '--quiet', `oci:${layout}:latest`, `docker-archive:${file}:busybox:fromskopeo`]);
    const imported = await importImage(ctx, file);
    expect(imported.format).toBe('docker-archive');
    expect(imported.images[0]?.references).toEqual(['docker.io/library/busybox:fromskopeo']);
    const store = openImageStore(ctx.root);
    const original = store.readImage(busyboxDigest);
    const converted = store.readImage(imported.images[0]!.manifestDigest);
    expect(converted.config.rootfs.diff_ids).toEqual(original.config.rootfs.diff_ids);
    expect(converted.layers[0]?.chainId).toBe(original.layers[0]?.chainId);

    const out = join(dir, 'to-docker.tar');
    await exportImages(ctx, ['busybox:fromskopeo'], { output: out, format: 'docker-archive' });
    const inspected = skopeo(['inspect', `docker-archive:${out}`]);
    expect(inspected.Layers).toEqual(original.config.rootfs.diff_ids);
    const manifestJson = spawnSync('tar', ['-xOf', out, 'manifest.json'], { encoding: 'utf8' }).stdout;
    expect(JSON.parse(manifestJson)[0].RepoTags).toEqual(['busybox:fromskopeo']);
    skopeo(['copy', '--quiet', `docker-archive:${out}:busybox:fromskopeo`, `oci:${join(dir, 'via-skopeo')}:copied`]);
  });

  it('pushes to the test registry under the same manifest digest, and a second push uploads nothing', async () => {
    const destination = `${registry}/devenv-test/busybox-${unique}:pushed`;
    const pushed = await pushImage(ctx, 'busybox', { destination });
    expect(pushed.manifestDigest).toBe(busyboxDigest);
    expect(pushed.reference).toBe(destination);
    const inspected = skopeo(['inspect', '--tls-verify=false', `docker://${destination}`]);
    expect(inspected.Digest).toBe(busyboxDigest);
    const again = await pushImage(ctx, 'busybox', { destination });
    expect(again.blobs.every((b) => b.status === 'exists')).toBe(true);
  });
});
