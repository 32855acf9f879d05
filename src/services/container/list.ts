import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { bundleDir, listRecords, readContainerState, type ContainerRecord, type ContainerState } from '../../runtime/container-store.js';
import type { ServiceContext } from '../service-context.js';

/** One row of `container ls`, also its --json form. */
export interface ContainerSummary {
  id: string;
  name: string;
  status: ContainerState['status'];
  /** Docker-style status text: "Up", "Exited (7)", "Created". */
  statusText: string;
  exitCode?: number;
  oomKilled?: boolean;
  pid?: number;
  command: string[];
  created: string;
  startedAt?: string;
  finishedAt?: string;
  rootfs: string;
  labels: Record<string, string>;
}

export function describeState(state: ContainerState): string {
  switch (state.status) {
    case 'created':
      return 'Created';
    case 'running':
      return 'Up';
    case 'exited':
      return `Exited (${state.exit?.exitCode ?? '?'})${state.exit?.oomKilled ? ' OOMKilled' : ''}`;
    default:
      return 'Exited (unknown)';
  }
}

export function summarize(root: string, record: ContainerRecord): ContainerSummary {
  const state = readContainerState(bundleDir(root, record.id));
  return {
    id: record.id,
    name: record.name,
    status: state.status,
    statusText: describeState(state),
    ...(state.exit ? { exitCode: state.exit.exitCode, oomKilled: state.exit.oomKilled, finishedAt: state.exit.finishedAt } : {}),
    ...(state.status === 'running' && state.pid !== undefined ? { pid: state.pid } : {}),
    ...(state.monitor?.startedAt ? { startedAt: state.monitor.startedAt } : {}),
    command: record.command,
    created: record.created,
    rootfs: record.rootfs,
    labels: record.labels ?? {},
  };
}

export function listContainers(ctx: ServiceContext, options: { all: boolean }): ContainerSummary[] {
  return listRecords(ctx.root)
    .map((r) => summarize(ctx.root, r))
    .filter((s) => options.all || s.status === 'running');
}

/** Everything devenv knows of one container: record, live state, and the spec of its last start. */
export function inspectContainer(ctx: ServiceContext, record: ContainerRecord): Record<string, unknown> {
  const dir = bundleDir(ctx.root, record.id);
  let spec: unknown;
  try {
    spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  } catch {
    spec = undefined;
  }
  const state = readContainerState(dir);
  return { ...summarize(ctx.root, record), state, record, bundle: dir, ...(spec ? { spec } : {}) };
}
