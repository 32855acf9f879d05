import { existsSync } from 'node:fs';

import { requireRunningProject, type ProjectLocation } from '../project/project-lookup.js';
import type { ServiceContext } from '../service-context.js';
import { startRelayThread } from './agent-relay-thread.js';
import { isFirstWarning, planRelaySocket } from './agent-socket.js';

/** The host's agent, relayed into a container for one `devenv exec`/`shell`/`ssh` session. */
export interface SessionAgent {
  /** KEY=VALUE for the session's command (SSH_AUTH_SOCK), empty when nothing is forwarded. */
  env: string[];
  warnings: string[];
  /** Remove the relay socket (call when the command ended; the process's exit does it too). */
  close(): void;
}

const NONE: SessionAgent = { env: [], warnings: [], close: () => undefined };

/** Relays the host agent for one command; made before the project lookup so the relay thread boots meanwhile. */
export interface HostAgentForwarder {
  /** The agent for a command in the project's container as `user` (default remoteUser). Never fails. */
  forward(ctx: ServiceContext, location: ProjectLocation, user: string | undefined): Promise<SessionAgent>;
}

/**
 * Prepare to forward the host agent at `upstream` ($SSH_AUTH_SOCK) into a container: a relay socket in the
 * container's agent directory, usable by the command's user. Problems become warnings and the command runs
 * without an agent. Undefined when there is no agent socket there.
 */
export function prepareHostAgent(upstream: string): HostAgentForwarder | undefined {
  if (!existsSync(upstream)) return undefined;
  const thread = startRelayThread(upstream);
  return {
    async forward(ctx, location, user) {
      let found: ReturnType<typeof requireRunningProject>;
      try {
        found = requireRunningProject(ctx, location);
      } catch (error) {
        thread.stop();
        throw error;
      }
      const { record, state } = found;
      try {
        const outcome = planRelaySocket(record, user ?? state.remoteUser, { uid: process.getuid?.() ?? 0, pid: process.pid });
        if ('warning' in outcome) {
          thread.stop();
          const say = outcome.once === undefined || isFirstWarning(ctx.root, record, outcome.once);
          return { ...NONE, warnings: say ? [outcome.warning] : [] };
        }
        const relay = await thread.listen(outcome.plan);
        return { env: [`SSH_AUTH_SOCK=${relay.containerPath}`], warnings: [], close: () => relay.close() };
      } catch (error) {
        thread.stop();
        return { ...NONE, warnings: [`the ssh agent is not forwarded: ${(error as Error).message}`] };
      }
    },
  };
}
