import { chmodSync, chownSync, closeSync, openSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { basename, dirname } from 'node:path';
import type { Duplex } from 'node:stream';

import { removeStaleSockets, type RelaySocketPlan } from './agent-socket.js';

/** A listening relay socket of one client process; close() (or the process's exit) removes it. */
export interface AgentRelay {
  /** SSH_AUTH_SOCK inside the container. */
  containerPath: string;
  hostPath: string;
  close(): void;
}

/** sun_path holds 108 bytes with its terminating NUL. */
const SUN_PATH_MAX = 107;

/**
 * What to bind for a socket path: the path itself, or, when a deep store makes it longer than sun_path allows,
 * the same file reached through an open descriptor of its directory (`/proc/self/fd/N/name`). Call done() after
 * listening.
 */
export function listenPathFor(hostPath: string): { path: string; done(): void } {
  if (Buffer.byteLength(hostPath) <= SUN_PATH_MAX) return { path: hostPath, done: () => undefined };
  const fd = openSync(dirname(hostPath), 'r');
  return { path: `/proc/self/fd/${fd}/${basename(hostPath)}`, done: () => closeSync(fd) };
}

/** Before listening: the directory's mode (it may predate it) and the sockets killed clients left behind. */
export function prepareAgentDir(plan: RelaySocketPlan): void {
  chmodSync(plan.dir, plan.dirMode);
  removeStaleSockets(plan.dir);
  rmSync(plan.hostPath, { force: true });
}

/** After listening: only the container user the socket is for may connect. */
export function restrictSocket(plan: RelaySocketPlan): void {
  chmodSync(plan.hostPath, 0o600);
  if (plan.owner) chownSync(plan.hostPath, plan.owner.uid, plan.owner.gid);
}

/** Relay two streams both ways, half-closes included (an agent client may shut down its side and still read). */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

/** Remove the socket when the process exits, however it got there (process.exit included). */
export function removeOnExit(hostPath: string): () => void {
  const remove = (): void => rmSync(hostPath, { force: true });
  process.once('exit', remove);
  return () => {
    process.removeListener('exit', remove);
    remove();
  };
}

/**
 * An in-process relay (for `devenv ssh --stdio`, whose event loop keeps running): each connection to the socket is
 * relayed to a stream from `connectUpstream` (the client's agent over an SSH channel, or the host's agent).
 */
export async function listenAgentRelay(plan: RelaySocketPlan, connectUpstream: () => Promise<Duplex>, onError: (message: string) => void): Promise<AgentRelay> {
  prepareAgentDir(plan);
  const server = createServer({ allowHalfOpen: true }, (client: Socket) => {
    client.on('error', () => undefined);
    connectUpstream().then(
      (upstream) => splice(client, upstream),
      (error: unknown) => {
        onError(`agent connection: ${(error as Error).message}`);
        client.destroy();
      },
    );
  });
  const listen = listenPathFor(plan.hostPath);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.path, () => resolve());
    });
  } finally {
    listen.done();
  }
  server.unref();
  const remove = removeOnExit(plan.hostPath);
  const stopHandlers = removeOnSignals(remove);
  try {
    restrictSocket(plan);
  } catch (error) {
    server.close();
    stopHandlers();
    remove();
    throw error;
  }
  return {
    containerPath: plan.containerPath,
    hostPath: plan.hostPath,
    close() {
      server.close();
      stopHandlers();
      remove();
    },
  };
}

/**
 * For processes whose event loop runs (`ssh --stdio`): ssh ends its ProxyCommand with SIGHUP, which would kill
 * Node without 'exit' handlers. Remove the socket first, then die of the same signal as before.
 */
function removeOnSignals(remove: () => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGHUP', 'SIGTERM'];
  const handlers = signals.map((signal) => {
    const handler = (): void => {
      remove();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, handler);
    return () => process.removeListener(signal, handler);
  });
  return () => handlers.forEach((off) => off());
}
