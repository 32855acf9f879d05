/**
 * vitest globalSetup of the integration project: a registry on 127.0.0.1:5055 (scripts/test-registry.sh, storage in
 * a temporary directory) holding `busybox:latest` (test/fixtures/images/build-busybox-image.ts, pushed with skopeo).
 * Tests find it with `inject('devenvTestRegistry')` or `process.env.DEVENV_TEST_REGISTRY` (= "127.0.0.1:5055"), and
 * the busybox OCI layout with `inject('devenvBusyboxLayout')`. The teardown stops only a registry this setup
 * started and removes only its own directory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { TestProject } from 'vitest/node';

import { buildBusyboxImage } from '../fixtures/images/build-busybox-image.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the test registry, "127.0.0.1:5055". */
    devenvTestRegistry: string;
    /** An OCI layout of the busybox test image (ref name `latest`). */
    devenvBusyboxLayout: string;
    /** Its manifest digest, as pushed to the registry as `busybox:latest`. */
    devenvBusyboxDigest: string;
  }
}

export const TEST_REGISTRY_PORT = 5055;
export const TEST_REGISTRY = `127.0.0.1:${TEST_REGISTRY_PORT}`;

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const SCRIPT = join(REPO_ROOT, 'scripts', 'test-registry.sh');

function run(command: string, args: string[], what: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000 });
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

function requireTools(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('these tests need root: the integration tests use namespaces, cgroups, overlay and a test registry (run them as root; `bash .ci/run` does)');
  }
  const missing = [
    ['/usr/bin/docker-registry', 'docker-registry'],
    ['/usr/bin/skopeo', 'skopeo'],
    ['/bin/busybox', 'busybox-static'],
  ].filter(([path]) => !existsSync(path as string));
  if (missing.length > 0) {
    throw new Error(`the integration tests need ${missing.map(([, pkg]) => pkg).join(', ')}: apt-get install ${missing.map(([, pkg]) => pkg).join(' ')}`);
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  requireTools();
  const dir = mkdtempSync(join(tmpdir(), 'devenv-test-registry-'));
  const registryDir = join(dir, 'registry');
  let started = false;
  const teardown = async (): Promise<void> => {
    if (started) spawnSync('bash', [SCRIPT, 'stop', String(TEST_REGISTRY_PORT), registryDir], { encoding: 'utf8', timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // stdout is the pid when this call started it; empty when a registry (not ours) already answered
    const pid = run('bash', [SCRIPT, String(TEST_REGISTRY_PORT), registryDir], 'starting the test registry').trim();
    started = pid !== '';
    const layout = join(dir, 'busybox-layout');
    const image = await buildBusyboxImage(layout);
    run(
      'skopeo',
      ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${TEST_REGISTRY}/busybox:latest`],
      'pushing busybox to the test registry',
    );
    process.env.DEVENV_TEST_REGISTRY = TEST_REGISTRY;
    project.provide('devenvTestRegistry', TEST_REGISTRY);
    project.provide('devenvBusyboxLayout', layout);
    project.provide('devenvBusyboxDigest', image.manifestDigest);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
