import { DevenvError } from '../errors.js';
import type { PullProgressEvent } from '../services/image/pull.js';
import { createContainer } from '../services/container/create.js';
import { parseLabelFlags, type CreateContainerOptions } from '../services/container/create-options.js';
import { releaseName } from '../runtime/container-store.js';
import { removeContainer } from '../services/container/remove.js';
import { removeAnonymousVolumes } from '../services/container/remove-volumes.js';
import { describeExit, startContainer } from '../services/container/start.js';
import { CREATE_ALL_ARG_SPECS, RUN_ARG_SPECS } from './container-flags.js';
import { parseDockerArgs, type ParsedFlags } from './docker-args.js';
import { contextFromFlags, printWarnings, runDockerStyle } from './docker-style-io.js';

function toCreateOptions(flags: ParsedFlags, positionals: string[], command: string): CreateContainerOptions {
  const rootfs = flags.rootfs as string | undefined;
  // Without --rootfs the first positional is the image, as in `docker run IMAGE [COMMAND…]`.
  const image = rootfs === undefined ? positionals[0] : undefined;
  const rest = rootfs === undefined ? positionals.slice(1) : positionals;
  if (rootfs === undefined && image === undefined) {
    throw new DevenvError('USAGE', `${command}: no image given`, { hint: `Usage: devenv ${command} [FLAGS] IMAGE [COMMAND [ARG…]] (or --rootfs DIR COMMAND)` });
  }
  const str = (k: string): string | undefined => flags[k] as string | undefined;
  const list = (k: string): string[] => (flags[k] as string[] | undefined) ?? [];
  const options: CreateContainerOptions = {
    ...(rootfs !== undefined ? { rootfs } : {}),
    ...(image !== undefined ? { image } : {}),
    command: rest,
    env: list('env'),
    envFiles: list('env-file'),
    volumes: list('volume'),
    mounts: list('mount'),
    readOnly: flags['read-only'] === true,
    capAdd: list('cap-add'),
    capDrop: list('cap-drop'),
    privileged: flags.privileged === true,
    interactive: flags.interactive === true,
    tty: flags.tty === true,
    ulimits: list('ulimit'),
    autoRemove: flags.rm === true,
    labels: parseLabelFlags(list('label')),
    securityOpt: list('security-opt'),
    publish: list('publish'),
    ...(flags['auto-forward'] === true ? { autoForward: true } : {}),
  };
  for (const [key, flag] of [
    ['name', 'name'],
    ['workdir', 'workdir'],
    ['user', 'user'],
    ['hostname', 'hostname'],
    ['memory', 'memory'],
    ['cpus', 'cpus'],
    ['pidsLimit', 'pids-limit'],
    ['userns', 'userns'],
    ['entrypoint', 'entrypoint'],
  ] as const) {
    const v = str(flag);
    if (v !== undefined) options[key] = v;
  }
  const pull = str('pull');
  if (pull === 'missing' || pull === 'always' || pull === 'never') options.pull = pull;
  const network = str('network');
  if (network !== undefined) options.network = network;
  if (list('add-host').length > 0) options.addHosts = list('add-host');
  return options;
}

/**
 * Pull progress for an implicit pull, on stderr (stdout belongs to the container): drawn with ink on a terminal,
 * plain lines otherwise, JSON lines under --json. Nothing is loaded unless a pull actually happens.
 */
function lazyPullProgress(json: boolean): { onProgress: (event: PullProgressEvent) => void; stop: () => Promise<void> } {
  let reporter: Promise<{ onProgress: (e: PullProgressEvent) => void; stop: () => Promise<void> }> | undefined;
  return {
    onProgress(event) {
      reporter ??= import('../ui/pull-progress.js').then((m) =>
        m.createPullProgressReporter(json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain', { stdout: process.stderr, stderr: process.stderr }),
      );
      void reporter.then((r) => r.onProgress(event));
    },
    async stop() {
      if (reporter) await (await reporter).stop();
    },
  };
}

/** `devenv container run`: create, start, and (attached) wait; exit code is the container's. */
export async function containerRunMain(argv: readonly string[]): Promise<number> {
  return runDockerStyle(argv, 'devenv container run', async (json) => {
    const { flags, positionals } = parseDockerArgs(argv, RUN_ARG_SPECS, { command: 'container run', leadingPositionals: 1 });
    const ctx = contextFromFlags(flags);
    const detach = flags.detach === true;
    const options = toCreateOptions(flags, positionals, 'container run');
    if (options.tty && !detach && !process.stdin.isTTY) {
      ctx.logger.warn('the input device is not a TTY; running without -t would avoid this');
    }
    // --rm: the monitor removes the container when it ends (it reports how it ended first), so a killed
    // devenv still leaves nothing behind.
    const progress = lazyPullProgress(json);
    let record;
    try {
      record = await createContainer(ctx, options, { onPullProgress: progress.onProgress });
    } finally {
      await progress.stop();
    }
    let started;
    try {
      started = await startContainer(ctx, record, { attached: !detach });
    } catch (error) {
      await removeContainer(ctx, record, { force: true }).catch(() => undefined);
      throw error;
    }
    printWarnings(ctx, started.warnings);
    if (detach) {
      process.stdout.write(json ? `${JSON.stringify({ id: record.id, name: record.name, pid: started.pid })}\n` : `${record.id}\n`);
      return 0;
    }
    // Terminal signals reach the runtime (same process group), which forwards them to the container: we only
    // wait for the end. A SIGTERM aimed at devenv alone ends devenv and leaves the container running.
    process.on('SIGINT', () => undefined);
    process.on('SIGQUIT', () => undefined);
    const exit = await (started.wait as NonNullable<typeof started.wait>)();
    const oom = describeExit(record, exit);
    if (oom) process.stderr.write(`Error: ${oom}\n`);
    if (options.autoRemove) releaseName(ctx.root, record.name, record.id);
    if (options.autoRemove) await removeAnonymousVolumes(ctx, record);
    if (json) process.stdout.write(`${JSON.stringify({ id: record.id, name: record.name, exitCode: exit.exitCode, oomKilled: exit.oomKilled })}\n`);
    return exit.exitCode;
  });
}

/** `devenv container create`: validate and write the container; prints its id. */
export async function containerCreateMain(argv: readonly string[]): Promise<number> {
  return runDockerStyle(argv, 'devenv container create', async (json) => {
    const { flags, positionals } = parseDockerArgs(argv, CREATE_ALL_ARG_SPECS, { command: 'container create', leadingPositionals: 1 });
    const ctx = contextFromFlags(flags);
    const progress = lazyPullProgress(json);
    let record;
    try {
      record = await createContainer(ctx, toCreateOptions(flags, positionals, 'container create'), { onPullProgress: progress.onProgress });
    } finally {
      await progress.stop();
    }
    process.stdout.write(json ? `${JSON.stringify({ id: record.id, name: record.name })}\n` : `${record.id}\n`);
    return 0;
  });
}
