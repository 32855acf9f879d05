import type { RunArgsOptions } from '../../devcontainer/config/run-args.js';
import { DevenvError } from '../../errors.js';
import { parseAddHost, parseNetworkMode, type NetworkMode } from '../../runtime/network/network-mode.js';

/** The network part of a project container's create options. */
export interface ProjectNetworkOptions {
  /** runArgs `--network`/`--net` as a mode; absent: the runtime's default. */
  network?: NetworkMode;
  /** runArgs `--add-host` entries, checked. */
  addHosts?: string[];
}

function asConfigError(error: unknown): unknown {
  if (!(error instanceof DevenvError)) return error;
  return new DevenvError('CONFIG_INVALID', `runArgs: ${error.message}`, { ...(error.hint ? { hint: error.hint } : {}), cause: error });
}

/**
 * runArgs' `--network` (private, host, none and the Docker/Podman aliases) and `--add-host` (NAME:IP,
 * NAME:host-gateway), checked here so a bad value fails `up` naming runArgs before anything is made.
 */
export function projectNetworkOptions(runArgs: Pick<RunArgsOptions, 'network' | 'addHosts'>): ProjectNetworkOptions {
  try {
    const out: ProjectNetworkOptions = {};
    if (runArgs.network !== undefined) out.network = parseNetworkMode(runArgs.network);
    if (runArgs.addHosts.length > 0) {
      for (const value of runArgs.addHosts) parseAddHost(value);
      out.addHosts = [...runArgs.addHosts];
    }
    return out;
  } catch (error) {
    throw asConfigError(error);
  }
}
