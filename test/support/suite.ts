import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { makeBusyboxRootfs } from './busybox-rootfs.js';
import { devenv, devenvAsync, testUser, uidOf, type CliResult, type Mode } from './devenv-cli.js';
import { findLeaks, type Leaks } from './leak-check.js';

/** One test file's world: a private store, a busybox rootfs owned by the mode's user, and the CLI bound to both. */
export interface Suite {
  mode: Mode;
  dir: string;
  root: string;
  rootfs: string;
  run(args: string[], opts?: { input?: string; env?: Record<string, string>; timeoutMs?: number }): CliResult;
  /** The same, without blocking the worker (for commands that may take long). */
  runAsync(args: string[], opts?: { timeoutMs?: number }): Promise<CliResult>;
  /** `container run` with the suite's rootfs: `runIn(['--rm'], ['sh','-c','…'])`. */
  runIn(flags: string[], command: string[], opts?: { input?: string; timeoutMs?: number }): CliResult;
  ids(): string[];
  /** Host ports the tests use: the leak check reports any still listening after the suite. */
  trackPorts(...ports: number[]): void;
  leaks(): Leaks;
  cleanup(): Promise<void>;
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('these tests create namespaces, cgroups and a non-root test user: run them as root (`bash .ci/run` does)');
  }
}

export function createSuite(mode: Mode, name: string): Suite {
  requireRoot();
  const user = testUser();
  const uid = mode === 'root' ? 0 : uidOf(user);
  const gid = uid;
  const dir = mkdtempSync(join(tmpdir(), `devenv-${name}-${mode}-`));
  chmodSync(dir, 0o755);
  const root = join(dir, 'store');
  mkdirSync(root);
  const rootfs = makeBusyboxRootfs(join(dir, 'rootfs'), uid, gid);
  const seen = new Set<string>();
  const trackedPorts: number[] = [];
  const suite: Suite = {
    mode,
    dir,
    root,
    rootfs,
    run(args, opts = {}) {
      const r = devenv(args, { mode, root, ...opts });
      for (const m of r.stdout.matchAll(/\b[0-9a-f]{64}\b/g)) seen.add(m[0]);
      return r;
    },
    async runAsync(args, opts = {}) {
      const r = await devenvAsync(args, { mode, root, ...opts });
      for (const m of r.stdout.matchAll(/\b[0-9a-f]{64}\b/g)) seen.add(m[0]);
      return r;
    },
    runIn(flags, command, opts = {}) {
      return suite.run(['container', 'run', ...flags, '--rootfs', rootfs, ...command], opts);
    },
    ids() {
      const r = devenv(['container', 'ls', '-a', '--json'], { mode, root });
      const listed = r.code === 0 ? (JSON.parse(r.stdout) as { id: string }[]).map((c) => c.id) : [];
      return [...new Set([...seen, ...listed])];
    },
    trackPorts(...ports) {
      trackedPorts.push(...ports);
    },
    leaks() {
      return findLeaks(root, suite.ids(), user, trackedPorts);
    },
    async cleanup() {
      for (const id of suite.ids()) await devenvAsync(['container', 'rm', '-f', id], { mode, root });
      await rm(dir, { recursive: true, force: true });
    },
  };
  if (uid !== 0) spawnChown(root, uid);
  return suite;
}

function spawnChown(path: string, uid: number): void {
  // mkdir as root, then hand the store to the test user.
  spawnSync('chown', ['-R', `${uid}:${uid}`, path]);
}

/**
 * Register the suite's set-up and its leak check for the current describe block. Returns the suite (usable
 * inside tests once beforeAll ran). After the block, it asserts that no mount, process or cgroup was left.
 */
export function useSuite(mode: Mode, name: string): Suite {
  let current: Suite | undefined;
  beforeAll(() => {
    current = createSuite(mode, name);
  });
  afterAll(async () => {
    if (!current) return;
    const leaks = current.leaks();
    await current.cleanup();
    expect(leaks).toEqual({ mounts: [], processes: [], cgroups: [], helpers: [], ports: [] });
  });
  return new Proxy({} as Suite, {
    get(_target, key) {
      if (!current) throw new Error(`suite ${name} (${mode}) is used before its beforeAll ran`);
      return current[key as keyof Suite];
    },
  });
}
