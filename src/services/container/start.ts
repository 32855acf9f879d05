import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { DevenvError } from '../../errors.js';
import { writeJsonAtomic } from '../../host/atomic-file.js';
import { acquireFileLock } from '../../host/file-lock.js';
import { formatMemorySize } from '../../runtime/cgroups/memory-size.js';
import { openCgroupManager } from '../../runtime/cgroups/open-cgroup-manager.js';
import {
  bundleDir,
  clearRunState,
  readContainerState,
  type ContainerRecord,
  type ExitState,
} from '../../runtime/container-store.js';
import { launchRuntime, type RuntimeLaunch } from '../../runtime/runtime-process.js';
import { buildContainerSpec } from '../../runtime/spec.js';
import type { ServiceContext } from '../service-context.js';

export interface StartContainerOptions {
  /** Stay attached to the container's stdio and wait for it (run without -d). */
  attached: boolean;
}

export interface StartContainerResult {
  record: ContainerRecord;
  pid: number;
  warnings: string[];
  /** Attached only: block until the container ended (the caller has nothing else to do) and say how. */
  wait?: () => Promise<ExitState>;
}

/**
 * Start a created or exited container: fresh cgroups with its limits, a config.json for this run, then the
 * native runtime. On failure nothing of this start is left (the runtime reaps its processes; we remove the
 * cgroups we made).
 */
export async function startContainer(ctx: ServiceContext, record: ContainerRecord, options: StartContainerOptions): Promise<StartContainerResult> {
  const dir = bundleDir(ctx.root, record.id);
  const lock = await acquireFileLock(join(dir, 'lock'), { what: `container \`${record.name}\`` });
  try {
    const state = readContainerState(dir);
    if (state.status === 'running') {
      throw new DevenvError('CONTAINER_STATE', `container \`${record.name}\` is already running`, { hint: 'Use `devenv container exec` to run more commands in it.' });
    }
    const cgroupManager = openCgroupManager();
    // A previous run killed with its monitor may have left empty cgroups: remove them before making new ones.
    if (state.status !== 'created') clearRunState(dir);
    const cgroup = await cgroupManager.createContainerCgroup(record.id, record.limits);
    let launch: RuntimeLaunch;
    try {
      const seccompCacheDir = join(ctx.root, 'cache', 'seccomp');
      mkdirSync(seccompCacheDir, { recursive: true, mode: 0o700 });
      const spec = buildContainerSpec({
        ...record.spec,
        cgroups: { version: cgroup.paths.length > 0 ? cgroup.version : 0, paths: cgroup.paths },
        seccompCacheDir,
      });
      writeJsonAtomic(join(dir, 'config.json'), spec);
      launch = launchRuntime(['run', '--bundle', dir, ...(options.attached ? [] : ['--detach'])], {
        operation: `start container \`${record.name}\``,
        attached: options.attached,
      });
    } catch (error) {
      await cgroupManager.removeContainerCgroup(cgroup.paths).catch(() => undefined);
      throw error;
    }
    const result: StartContainerResult = { record, pid: launch.pid, warnings: [...record.warnings, ...launch.warnings] };
    if (options.attached) {
      const attached = launch;
      result.wait = async () => {
        const { code, exit } = attached.wait();
        // The monitor removes the cgroups; make sure even if it could not.
        if (cgroup.paths.some((path) => existsSync(path))) await cgroupManager.removeContainerCgroup(cgroup.paths).catch(() => undefined);
        return exit ?? readContainerState(dir).exit ?? { exitCode: code, signal: null, oomKilled: false };
      };
    }
    return result;
  } finally {
    lock.release();
  }
}

/** The message for a container that ended by the OOM killer, as the issue asks: `out of memory: limit 64 MiB`. */
export function describeExit(record: ContainerRecord, exit: ExitState): string | undefined {
  if (exit.oomKilled) {
    const limit = record.limits.memoryBytes;
    return `container \`${record.name}\` was killed: out of memory: limit ${limit !== undefined ? formatMemorySize(limit) : 'unknown'}`;
  }
  return undefined;
}
