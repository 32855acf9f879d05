/**
 * vitest globalSetup of the e2e project: its own registry on 127.0.0.1:5056 (scripts/test-registry.sh) holding
 * images the tests build themselves: `busybox:latest` (busybox-static), `layered:130` (busybox plus 130 small
 * layers) and `debian:bookworm` (debootstrap minbase, cached in /var/cache/devenv-test after the first run), and
 * the fixture Features `features/base:1` and `features/env-hook:1` (test/fixtures/features) as OCI artifacts.
 * Tests read `inject('devenvE2eRegistry')`. Tears down only what it started.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { TestProject } from 'vitest/node';

import { buildBusyboxImage } from '../fixtures/images/build-busybox-image.js';
import { buildLayeredImage } from '../fixtures/images/build-layered-image.js';
import { staticCredentialStore } from '../../src/image/registry/credentials.js';
import { EMPTY_REGISTRIES_CONFIG } from '../../src/image/registry/registries-config.js';
import { createRegistryClient } from '../../src/image/registry/registry-client.js';
import { publishFeature } from './feature-artifact.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the e2e registry ("127.0.0.1:5056"). */
    devenvE2eRegistry: string;
  }
}

// DEVENV_E2E_REGISTRY_PORT lets two e2e runs on one machine keep to their own registries.
const PORT = Number(process.env.DEVENV_E2E_REGISTRY_PORT ?? 5056);
const REGISTRY = `127.0.0.1:${PORT}`;
const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

function run(command: string, args: string[], what: string, timeout = 300_000): void {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal}):\n${r.stderr ?? ''}${r.stdout ?? ''}`);
}

function push(layout: string, tag: string, dest: string): void {
  run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${REGISTRY}/${dest}`], `pushing ${dest}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) throw new Error('the e2e tests need root (namespaces, cgroups, a test user, a test registry): run them as root, as CI does');
  const dir = mkdtempSync(join(tmpdir(), 'devenv-e2e-registry-'));
  const script = join(REPO_ROOT, 'scripts', 'test-registry.sh');
  let started = false;
  const teardown = async (): Promise<void> => {
    if (started) spawnSync('bash', [script, 'stop', String(PORT), join(dir, 'registry')], { timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pid = spawnSync('bash', [script, String(PORT), join(dir, 'registry')], { encoding: 'utf8', timeout: 60_000 });
    if (pid.status !== 0) throw new Error(`starting the e2e registry failed: ${pid.stderr}`);
    started = pid.stdout.trim() !== '';
    const busybox = join(dir, 'busybox');
    await buildBusyboxImage(busybox);
    push(busybox, 'latest', 'busybox:latest');
    const layered = join(dir, 'layered');
    await buildLayeredImage(busybox, 'latest', layered, '130', 130);
    push(layered, '130', 'layered:130');
    const debian = join(dir, 'debian');
    run('bash', [join(REPO_ROOT, 'test', 'fixtures', 'images', 'build-debian-image.sh'), debian, 'bookworm'], 'building the Debian image', 900_000);
    push(debian, 'bookworm', 'debian:bookworm');
    const client = createRegistryClient({ config: EMPTY_REGISTRIES_CONFIG, credentials: staticCredentialStore({}) });
    for (const feature of ['base', 'env-hook']) {
      await publishFeature(client, join(REPO_ROOT, 'test', 'fixtures', 'features', feature), `${REGISTRY}/features/${feature}:1`);
    }
    project.provide('devenvE2eRegistry', REGISTRY);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
