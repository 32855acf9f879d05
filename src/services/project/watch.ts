import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';

import { loadProject } from '../../devcontainer/config/load-project.js';
import type { ServiceContext } from '../service-context.js';
import { bundleDir } from '../../runtime/container-store.js';
import { stopContainer } from '../container/stop.js';
import { readPortNotices } from '../container/ports.js';
import { findProjectContainer } from './project-index.js';
import { readProjectState } from './project-state.js';
import { upProject, type UpOptions, type UpResult } from './up.js';

/** The files whose change means "rebuild": devcontainer.json, the Dockerfile, and local feature folders. */
export function watchedPaths(configFile: string, config: { build?: { dockerfile?: string }; dockerFile?: string; features?: Record<string, unknown> }): string[] {
  const dir = dirname(configFile);
  const paths = [configFile];
  const dockerfile = config.build?.dockerfile ?? config.dockerFile;
  if (dockerfile) paths.push(resolve(dir, dockerfile));
  for (const id of Object.keys(config.features ?? {})) {
    if (id.startsWith('./') || id.startsWith('../')) paths.push(resolve(dir, id));
  }
  return paths.filter((p) => existsSync(p));
}

export interface WatchOptions extends UpOptions {
  /** Recreate without asking. */
  yes: boolean;
  json: boolean;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * `up --watch`: stay attached, and when devcontainer.json, the Dockerfile or a local feature changes, say what
 * changed and rebuild the container (asking on a terminal unless --yes). Named volumes and the workspace are
 * kept. Ends on SIGINT/SIGTERM with exit code 0; the container keeps running.
 */
export async function watchProject(ctx: ServiceContext, options: WatchOptions, first: UpResult): Promise<number> {
  const { watch } = await import('chokidar');
  const reporter = options.reporter;
  let current = first;
  let paths = watchedPaths(current.configFile, loadProject({ workspaceFolder: options.workspaceFolder, hostEnv: options.hostEnv, ...(options.configFile ? { configFile: options.configFile } : {}) }).config);
  const watcher = watch(paths, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 150, pollInterval: 50 } });
  reporter.step(`Watching ${paths.map((p) => relative(options.workspaceFolder, p) || p).join(', ')} (Ctrl-C to stop)`);
  let busy = false;
  let pending: string | undefined;
  const onChange = async (path: string): Promise<void> => {
    if (busy) {
      pending = path;
      return;
    }
    busy = true;
    try {
      reporter.step(`${relative(options.workspaceFolder, path) || path} changed`);
      const interactive = process.stdin.isTTY === true && !options.json;
      if (!options.yes) {
        if (!interactive) {
          reporter.warn('the container was not recreated: pass --yes to recreate it automatically on changes');
          return;
        }
        if (!(await confirm('Rebuild and recreate the dev container?'))) return;
      }
      try {
        current = await upProject(ctx, { ...options, rebuild: true });
        process.stdout.write(options.json ? `${JSON.stringify(current)}\n` : `Dev container ${current.containerName} recreated\n`);
        const next = watchedPaths(current.configFile, loadProject({ workspaceFolder: options.workspaceFolder, hostEnv: options.hostEnv, ...(options.configFile ? { configFile: options.configFile } : {}) }).config);
        watcher.unwatch(paths.filter((p) => !next.includes(p)));
        watcher.add(next.filter((p) => !paths.includes(p)));
        paths = next;
      } catch (error) {
        // A broken edit must not end the watch: report it and wait for the next change.
        reporter.warn(`rebuild failed: ${(error as Error).message}`);
      }
    } finally {
      busy = false;
      const again = pending;
      pending = undefined;
      if (again) void onChange(again);
    }
  };
  watcher.on('change', (p) => void onChange(p));
  watcher.on('add', (p) => void onChange(p));
  const notices = followPortNotices(ctx, () => current.devcontainerId, reporter);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  clearInterval(notices);
  await watcher.close();
  await applyShutdownAction(ctx, current, reporter);
  return 0;
}

/**
 * Report the monitor's port notices (ports.log) as they happen, every 0.4 s (the monitor's scan interval). The
 * first container's earlier notices were summed up by `up`'s list of ports; a recreated container's are all new.
 */
function followPortNotices(ctx: ServiceContext, devcontainerId: () => string, reporter: WatchOptions['reporter']): NodeJS.Timeout {
  let containerId: string | undefined;
  let offset = 0;
  const poll = (first: boolean): void => {
    const record = findProjectContainer(ctx.root, devcontainerId());
    if (!record) return;
    if (record.id !== containerId) {
      containerId = record.id;
      offset = first ? readPortNotices(ctx, record).offset : 0;
      if (first) return;
    }
    const read = readPortNotices(ctx, record, offset);
    offset = read.offset;
    for (const event of read.events) reporter.portEvent?.(event);
  };
  poll(true);
  const timer = setInterval(() => poll(false), 400);
  timer.unref();
  return timer;
}

/** The attached session ends: shutdownAction `stopContainer` (the spec's default for image configs) stops it, as closing VS Code does. */
async function applyShutdownAction(ctx: ServiceContext, result: UpResult, reporter: WatchOptions['reporter']): Promise<void> {
  const record = findProjectContainer(ctx.root, result.devcontainerId);
  const state = record ? readProjectState(bundleDir(ctx.root, record.id)) : undefined;
  if (!record || state?.shutdownAction !== 'stopContainer') return;
  reporter.step(`Stopping ${record.name} (shutdownAction: stopContainer)`);
  await stopContainer(ctx, record, { timeoutSeconds: 10, signal: 15 });
}
