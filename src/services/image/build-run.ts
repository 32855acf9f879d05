import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { DevenvError } from '../../errors.js';
import { packageRoot } from '../../host/native-addon.js';
import { randomHex } from '../../host/random-id.js';
import { writeJsonAtomic } from '../../host/atomic-file.js';
import { nativeXattrReader } from '../../image/build/native-xattrs.js';
import { writeUpperDiffFile } from '../../image/build/upper-diff.js';
import { openCgroupManager } from '../../runtime/cgroups/open-cgroup-manager.js';
import { bundleDir, readContainerState, type ContainerRecord } from '../../runtime/container-store.js';
import { launchRuntimePiped } from '../../runtime/runtime-process-piped.js';
import { buildContainerSpec } from '../../runtime/spec.js';
import { createContainer } from '../container/create.js';
import { removeMountStubs } from './build-mount-stubs.js';
import { removeContainer } from '../container/remove.js';
import type { ServiceContext } from '../service-context.js';
import { BUILD_LABEL } from './build-sweep.js';

export { BUILD_LABEL, sweepBuildContainers } from './build-sweep.js';

/** One RUN step to execute. */
export interface BuildRunInput {
  /** Overlay lowerdirs of the stage so far, top-most first (empty: FROM scratch). */
  lowerdirs: string[];
  command: string[];
  env: string[];
  user?: string;
  workdir?: string;
  /** For the container list while it runs: `Dockerfile:7`. */
  what: string;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  signal?: AbortSignal;
}

/** A RUN's outcome: its exit code, and (when 0) the layer tar it produced. */
export interface BuildRunResult {
  exitCode: number;
  layer?: { tarPath: string; digest: string; size: number; entries: number };
}

/** Start a created container attached, its output piped to us; resolves with its exit code. Mirrors startContainer. */
async function runPiped(ctx: ServiceContext, record: ContainerRecord, input: BuildRunInput): Promise<number> {
  const dir = bundleDir(ctx.root, record.id);
  const cgroupManager = openCgroupManager();
  const cgroup = await cgroupManager.createContainerCgroup(record.id, record.limits);
  try {
    const seccompCacheDir = join(ctx.root, 'cache', 'seccomp');
    mkdirSync(seccompCacheDir, { recursive: true, mode: 0o700 });
    const spec = buildContainerSpec({ ...record.spec, cgroups: { version: cgroup.paths.length > 0 ? cgroup.version : 0, paths: cgroup.paths }, seccompCacheDir });
    writeJsonAtomic(join(dir, 'config.json'), spec);
    const run = await launchRuntimePiped(['run', '--bundle', dir], `RUN (${input.what})`, {
      onStdout: input.onStdout,
      onStderr: input.onStderr,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    for (const w of run.warnings) ctx.logger.debug(w);
    const code = await run.exited;
    return readContainerState(dir).exit?.exitCode ?? code;
  } finally {
    if (cgroup.paths.some((p) => existsSync(p))) await cgroupManager.removeContainerCgroup(cgroup.paths).catch(() => undefined);
  }
}

/** The unshare arguments that enter a user namespace with the container's own id mappings (rootless). */
export function unshareMapArgs(record: ContainerRecord): string[] {
  const maps = record.spec.idMappings;
  if (!maps) return [];
  const args: string[] = [];
  const add = (kind: 'users' | 'groups', list: Array<{ containerID: number; hostID: number; size: number }>, self: number): void => {
    for (const m of list) {
      if (m.containerID === 0 && m.size === 1 && m.hostID === self) continue; // --map-root-user
      args.push(`--map-${kind}=${m.hostID},${m.containerID},${m.size}`);
    }
  };
  add('users', maps.uid, process.getuid?.() ?? 0);
  add('groups', maps.gid, process.getgid?.() ?? 0);
  return ['--map-root-user', ...args];
}

/** Write the container's upper dir as a layer tar: in this process as root, in its user namespace rootless. */
function diffUpper(ctx: ServiceContext, record: ContainerRecord, tarPath: string): { digest: string; size: number; entries: number } {
  const upper = join(bundleDir(ctx.root, record.id), 'upper');
  if (!record.spec.rootless) {
    try {
      return writeUpperDiffFile(upper, tarPath, nativeXattrReader());
    } catch (error) {
      throw new DevenvError('RUNTIME_SETUP', `read the changes of the build container: ${(error as Error).message}`, { kind: 'external', cause: error });
    }
  }
  const script = join(packageRoot(), 'dist', 'image', 'build', 'upper-diff-main.js');
  const r = spawnSync('unshare', [...unshareMapArgs(record), process.execPath, script, upper, tarPath], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new DevenvError('RUNTIME_SETUP', `read the changes of the build container: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`, {
      kind: 'external',
      hint: 'Rootless builds read the container\'s files in a user namespace with util-linux `unshare` (≥ 2.38, with newuidmap/newgidmap).',
    });
  }
  return JSON.parse(r.stdout) as { digest: string; size: number; entries: number };
}

/**
 * Run one RUN step: a container on the stage's layers (private network: egress, no stubs of its /etc files left), the
 * command as the stage's USER in its WORKDIR with its environment; on success the container's upper dir becomes a
 * layer tar (`tarDir/<random>.tar`). The container is always removed.
 */
export async function runBuildStep(ctx: ServiceContext, input: BuildRunInput, tarDir: string): Promise<BuildRunResult> {
  let lowerdirs = input.lowerdirs;
  if (lowerdirs.length === 0) {
    const empty = join(ctx.root, 'images', 'build-empty');
    mkdirSync(empty, { recursive: true, mode: 0o755 });
    lowerdirs = [empty];
  }
  const record = await createContainer(ctx, {
    layers: { lowerdirs, label: `build ${input.what}` },
    name: `devenv-build-${randomHex(6)}`,
    command: input.command,
    env: input.env,
    envFiles: [],
    volumes: [],
    mounts: [],
    ...(input.user ? { user: input.user } : {}),
    ...(input.workdir ? { workdir: input.workdir } : {}),
    readOnly: false,
    capAdd: [],
    capDrop: [],
    privileged: false,
    interactive: false,
    tty: false,
    ulimits: [],
    autoRemove: false,
    labels: { [BUILD_LABEL]: String(process.pid) },
    network: 'private', // docker build's RUN has network
  });
  try {
    const exitCode = await runPiped(ctx, record, input);
    if (exitCode !== 0) return { exitCode };
    const upper = join(bundleDir(ctx.root, record.id), 'upper');
    removeMountStubs(upper, record.spec.rootfs.lowerdirs, (record.spec.networkFiles ?? []).map((name) => `/etc/${name}`));
    mkdirSync(tarDir, { recursive: true, mode: 0o700 });
    const tarPath = join(tarDir, `build-${randomHex(8)}.tar`);
    const layer = diffUpper(ctx, record, tarPath);
    return { exitCode, layer: { tarPath, ...layer } };
  } finally {
    await removeContainer(ctx, record, { force: true });
  }
}
