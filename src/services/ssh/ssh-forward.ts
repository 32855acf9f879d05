import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import type { Duplex } from 'node:stream';

import { bundleDir, readContainerState, type ContainerRecord } from '../../runtime/container-store.js';
import { loadAddon } from '../../runtime/native.js';
import type { ServiceContext } from '../service-context.js';

const CONNECT_TIMEOUT_MS = 10_000;

/** The container's init pid as the host sees it (re-read each time: the container may have been restarted). */
function containerPid(ctx: ServiceContext, record: ContainerRecord): number {
  const live = readContainerState(bundleDir(ctx.root, record.id));
  if (live.status !== 'running' || !live.pid) throw Object.assign(new Error(`container \`${record.name}\` is not running`), { code: 'ESRCH' });
  return live.pid;
}

/**
 * The addresses to try for a direct-tcpip destination: IP literals as they are, `localhost` as both loopbacks
 * (the container's own), other names through the host's resolver. Pure apart from the resolver.
 */
export async function destinationAddresses(host: string): Promise<{ family: 'tcp4' | 'tcp6'; address: string }[]> {
  const literal = isIP(host.replace(/^\[|\]$/g, ''));
  if (literal) return [{ family: literal === 6 ? 'tcp6' : 'tcp4', address: host.replace(/^\[|\]$/g, '') }];
  if (host === '' || host.toLowerCase() === 'localhost') return [{ family: 'tcp4', address: '127.0.0.1' }, { family: 'tcp6', address: '::1' }];
  const found = await lookup(host, { all: true });
  return found.map((a) => ({ family: a.family === 6 ? 'tcp6' : 'tcp4', address: a.address }));
}

/** A TCP connection made inside the container's network namespace (direct-tcpip, `ssh -L`). */
export async function connectTcpInContainer(ctx: ServiceContext, record: ContainerRecord, host: string, port: number): Promise<Socket> {
  const addon = loadAddon();
  let last: unknown;
  for (const dest of await destinationAddresses(host)) {
    try {
      const fd = await addon.connectInContainer(containerPid(ctx, record), dest.family, dest.address, port, CONNECT_TIMEOUT_MS);
      return new Socket({ fd, readable: true, writable: true });
    } catch (error) {
      last = error;
    }
  }
  throw last ?? new Error(`no address for ${host}`);
}

/** A connection to a unix socket in the container's filesystem (direct-streamlocal, `ssh -L port:/path`). */
export async function connectUnixInContainer(ctx: ServiceContext, record: ContainerRecord, path: string): Promise<Socket> {
  const fd = await loadAddon().connectInContainer(containerPid(ctx, record), 'unix', path, 0, CONNECT_TIMEOUT_MS);
  return new Socket({ fd, readable: true, writable: true });
}

/** Relay a channel and a socket both ways; either side closing closes the other. */
export function bridge(channel: Duplex, socket: Socket): void {
  channel.pipe(socket).on('error', () => channel.destroy());
  socket.pipe(channel).on('error', () => socket.destroy());
  socket.on('error', () => channel.destroy());
  channel.on('error', () => socket.destroy());
  channel.on('close', () => socket.destroy());
  socket.on('close', () => channel.end());
}
