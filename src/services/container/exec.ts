import { rmSync } from 'node:fs';
import { join, posix } from 'node:path';

import { DevenvError } from '../../errors.js';
import { writeJsonAtomic } from '../../host/atomic-file.js';
import { randomHex } from '../../host/random-id.js';
import { bundleDir, readContainerState, type ContainerRecord } from '../../runtime/container-store.js';
import { readRootfsFile, resolveContainerUser } from '../../runtime/container-user.js';
import type { OciProcess } from '../../runtime/oci-spec-types.js';
import { launchRuntime } from '../../runtime/runtime-process.js';
import { launchRuntimePiped, type PipedIo } from '../../runtime/runtime-process-piped.js';
import { resolveCapabilities } from '../../runtime/security/capabilities.js';
import type { ServiceContext } from '../service-context.js';
import { parseEnvFlag, readEnvFiles } from './create-options.js';
import { mergeEnv } from './create.js';

export interface ExecOptions {
  command: string[];
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  env: string[];
  envFiles: string[];
  user?: string;
  workdir?: string;
  privileged: boolean;
}

export interface ExecResult {
  pid: number;
  warnings: string[];
  /** Attached: block until the command ends; its exit code. */
  wait?: () => number;
}

/** The OCI process object of an exec, from the container's own settings and the exec flags. Pure. */
export function buildExecProcess(record: ContainerRecord, options: ExecOptions, hostEnv: NodeJS.ProcessEnv): OciProcess {
  if (options.command.length === 0) throw new DevenvError('USAGE', 'exec: no command given', { hint: 'Usage: devenv container exec CONTAINER COMMAND [ARG…]' });
  if (options.workdir !== undefined && !posix.isAbsolute(options.workdir)) {
    throw new DevenvError('USAGE', `invalid --workdir \`${options.workdir}\`: it must be an absolute path`);
  }
  const spec = record.spec;
  const user =
    options.user === undefined
      ? spec.user
      : resolveContainerUser(options.user, {
          passwd: readRootfsFile(spec.rootfs.lowerdirs, 'etc/passwd'),
          group: readRootfsFile(spec.rootfs.lowerdirs, 'etc/group'),
        });
  const userEnv = [
    ...readEnvFiles(options.envFiles, hostEnv),
    ...options.env.map((e) => parseEnvFlag(e, hostEnv)).filter((e): e is string => e !== undefined),
  ];
  return {
    terminal: options.tty,
    user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
    args: options.command,
    env: mergeEnv(spec.env, options.tty ? ['TERM=xterm'] : [], userEnv),
    cwd: options.workdir ?? spec.cwd,
    capabilities: options.privileged ? resolveCapabilities({ privileged: true }) : spec.capabilities,
    noNewPrivileges: !(options.privileged || spec.privileged),
    ...(spec.rlimits.length ? { rlimits: spec.rlimits } : {}),
  };
}

/** Run a command in a running container: joins its namespaces and cgroups through the native runtime. */
export async function execInContainer(ctx: ServiceContext, record: ContainerRecord, options: ExecOptions): Promise<ExecResult> {
  const dir = bundleDir(ctx.root, record.id);
  const state = readContainerState(dir);
  if (state.status !== 'running') {
    throw new DevenvError('CONTAINER_STATE', `container \`${record.name}\` is not running`, {
      exitCode: 125,
      hint: `Start it first: devenv container start ${record.name}`,
    });
  }
  const processFile = join(dir, `exec-${randomHex(6)}.json`);
  writeJsonAtomic(processFile, buildExecProcess(record, options, process.env));
  try {
    const launch = launchRuntime(['exec', '--bundle', dir, '--process', processFile, ...(options.detach ? ['--detach'] : [])], {
      operation: `exec in container \`${record.name}\``,
      attached: !options.detach,
    });
    return { pid: launch.pid, warnings: launch.warnings, ...(options.detach ? {} : { wait: () => launch.wait().code }) };
  } finally {
    rmSync(processFile, { force: true });
  }
}

/**
 * Run a command in a running container with its output piped to us (lifecycle hooks, env probes): the exit
 * code once it ends. Stdin is /dev/null; no terminal.
 */
export async function execPiped(
  ctx: ServiceContext,
  record: ContainerRecord,
  options: Pick<ExecOptions, 'command' | 'env' | 'user' | 'workdir'>,
  io: PipedIo,
): Promise<number> {
  const dir = bundleDir(ctx.root, record.id);
  const processFile = join(dir, `exec-${randomHex(6)}.json`);
  const full: ExecOptions = { ...options, interactive: false, tty: false, detach: false, envFiles: [], privileged: false };
  writeJsonAtomic(processFile, buildExecProcess(record, full, {}));
  try {
    const run = await launchRuntimePiped(['exec', '--bundle', dir, '--process', processFile], `exec in container \`${record.name}\``, io);
    for (const w of run.warnings) ctx.logger.warn(w);
    return await run.exited;
  } finally {
    rmSync(processFile, { force: true });
  }
}
