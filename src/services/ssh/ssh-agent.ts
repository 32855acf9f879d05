import { connect } from 'node:net';
import type { Duplex } from 'node:stream';

import type { Connection } from 'ssh2';

import { listenAgentRelay, type AgentRelay } from '../agent/agent-relay.js';
import { isFirstWarning, planRelaySocket } from '../agent/agent-socket.js';
import type { ContainerRecord } from '../../runtime/container-store.js';
import type { ProjectState } from '../project/project-state.js';
import type { ServiceContext } from '../service-context.js';

/** ssh2's own channel sizes (lib/Channel.js), which its server uses for every channel it opens. */
const MAX_WINDOW = 2 * 1024 * 1024;
const PACKET_SIZE = 32 * 1024;

/** The parts of ssh2's server-side connection that open a channel; ssh2's public API has no agent channel yet. */
interface ConnectionInternals {
  _chanMgr?: { add(callback: unknown): number };
  _protocol?: { openssh_authAgent?(channel: number, window: number, packetSize: number): void };
}

/**
 * Ask the SSH client for a connection to its agent (an `auth-agent@openssh.com` channel, which OpenSSH opens to
 * its $SSH_AUTH_SOCK when the user forwarded the agent with `ssh -A`). ssh2 implements the message and handles the
 * confirmation like any channel it opened; only the opening call is missing from its server API.
 */
export function openAgentChannel(client: Connection): Promise<Duplex> {
  const internals = client as unknown as ConnectionInternals;
  const manager = internals._chanMgr;
  const protocol = internals._protocol;
  if (!manager || typeof protocol?.openssh_authAgent !== 'function') {
    return Promise.reject(new Error('this ssh2 version cannot open agent channels'));
  }
  return new Promise((resolve, reject) => {
    const onOpen = Object.assign((error: Error | undefined, stream: Duplex) => (error ? reject(error) : resolve(stream)), { type: 'auth-agent@openssh.com' });
    const channel = manager.add(onOpen);
    if (channel === -1) {
      reject(new Error('no free SSH channel for the agent'));
      return;
    }
    protocol.openssh_authAgent?.(channel, MAX_WINDOW, PACKET_SIZE);
  });
}

/** One SSH connection's agent: a relay socket in the container, made when a session first needs it. */
export interface ConnectionAgent {
  /**
   * SSH_AUTH_SOCK for a session (undefined: no agent). `asked`: the session sent `auth-agent-req` (ssh -A), which
   * makes the client's forwarded agent the relay's upstream; otherwise the host's $SSH_AUTH_SOCK is, when set.
   */
  socketFor(asked: boolean): Promise<string | undefined>;
  close(): void;
}

export interface ConnectionAgentOptions {
  ctx: ServiceContext;
  record: ContainerRecord;
  state: ProjectState;
  client: Connection;
  /** The host's agent ($SSH_AUTH_SOCK of `devenv ssh --stdio`, the ssh client's own environment). */
  hostAgent?: string;
  /** Where warnings go (stderr: ssh shows the ProxyCommand's). */
  warn(message: string): void;
}

export function createConnectionAgent(options: ConnectionAgentOptions): ConnectionAgent {
  const { ctx, record, state, client } = options;
  let clientAgent = false;
  let relay: Promise<AgentRelay | undefined> | undefined;
  let closed = false;
  const upstream = (): Promise<Duplex> => {
    if (clientAgent) return openAgentChannel(client);
    const path = options.hostAgent as string;
    return new Promise((resolve, reject) => {
      const socket = connect({ path, allowHalfOpen: true });
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  };
  const start = async (): Promise<AgentRelay | undefined> => {
    const outcome = planRelaySocket(record, state.remoteUser, { uid: process.getuid?.() ?? 0, pid: process.pid });
    if ('warning' in outcome) {
      if (outcome.once === undefined || isFirstWarning(ctx.root, record, outcome.once)) options.warn(outcome.warning);
      return undefined;
    }
    const made = await listenAgentRelay(outcome.plan, upstream, (m) => ctx.logger.debug(m));
    if (closed) made.close();
    return made;
  };
  return {
    async socketFor(asked) {
      if (asked) clientAgent = true;
      if (!clientAgent && !options.hostAgent) return undefined;
      relay ??= start().catch((error: unknown) => {
        options.warn(`the ssh agent is not forwarded: ${(error as Error).message}`);
        return undefined;
      });
      return (await relay)?.containerPath;
    },
    close() {
      closed = true;
      void relay?.then((r) => r?.close());
    },
  };
}
