import { join } from 'node:path';

import { withFileLock } from '../../host/file-lock.js';
import { bundleDir, readContainerState, type ContainerRecord, type ContainerState } from '../../runtime/container-store.js';
import type { ServiceContext } from '../service-context.js';
import { signalIfSame, waitFor } from './signal-process.js';

/** Until the container's process is gone and its monitor has finished writing exit.json (or is gone too). */
export function isFullyStopped(dir: string): boolean {
  const state = readContainerState(dir);
  return state.status !== 'running';
}

export interface StopContainerOptions {
  /** Seconds to wait after the stop signal before SIGKILL (Docker's --time, default 10). */
  timeoutSeconds: number;
  signal: number;
}

export interface StopContainerResult {
  wasRunning: boolean;
  killed: boolean;
  state: ContainerState;
}

/** Stop signal, wait up to the timeout, then SIGKILL; returns once the container has ended. */
export async function stopContainer(ctx: ServiceContext, record: ContainerRecord, options: StopContainerOptions): Promise<StopContainerResult> {
  const dir = bundleDir(ctx.root, record.id);
  return withFileLock(join(dir, 'lock'), { what: `container \`${record.name}\`` }, () => stopLocked(dir, options));
}

/** The same, for callers that already hold the container's lock (rm -f). */
export async function stopLocked(dir: string, options: StopContainerOptions): Promise<StopContainerResult> {
  const state = readContainerState(dir);
  if (state.status !== 'running' || !state.monitor) return { wasRunning: false, killed: false, state };
  const { pid, pidStartTime } = state.monitor;
  signalIfSame(pid, pidStartTime, options.signal);
  let killed = false;
  if (!(await waitFor(() => isFullyStopped(dir), options.timeoutSeconds * 1000))) {
    signalIfSame(pid, pidStartTime, 9);
    killed = true;
    await waitFor(() => isFullyStopped(dir), 10_000);
  }
  return { wasRunning: true, killed, state: readContainerState(dir) };
}

/** Send a signal to the container's init (which forwards it to the command). */
export async function killContainer(ctx: ServiceContext, record: ContainerRecord, signal: number): Promise<boolean> {
  const dir = bundleDir(ctx.root, record.id);
  const state = readContainerState(dir);
  if (state.status !== 'running' || !state.monitor) return false;
  return signalIfSame(state.monitor.pid, state.monitor.pidStartTime, signal);
}
