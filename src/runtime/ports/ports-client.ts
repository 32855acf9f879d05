import { closeSync, constants, openSync } from 'node:fs';
import { createConnection } from 'node:net';

import type { PortForwardSpec } from './port-spec.js';
import type { PortForward } from './ports-state.js';

/** A request on `<bundle>/ports.sock` (one JSON object per line; docs/runtime-contract.md, "Ports"). */
export type PortsRequest =
  | { op: 'list' }
  | { op: 'add'; forward: Omit<PortForwardSpec, 'source'> & { source?: PortForwardSpec['source'] } }
  | { op: 'remove'; containerPort: number; protocol?: 'tcp' | 'udp'; hostPort?: number };

/** The monitor's answer: ok with the request's result, or an errno-shaped failure. */
export type PortsReply =
  | { ok: true; forwards?: PortForward[]; autoForward?: { enabled: boolean }; forward?: PortForward; warning?: string; removed?: PortForward[] }
  | { ok: false; code: string; errno: number; message: string };

/** Why a request did not reach the monitor: errno-shaped, as Node's own errors. */
export class PortsUnreachableError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PortsUnreachableError';
  }
}

/**
 * Send one request to a container's monitor and wait for its answer. The socket is reached through
 * /proc/self/fd/<dir fd>/ports.sock: a bundle path can be longer than a unix socket address allows.
 */
export function requestPorts(bundle: string, request: PortsRequest, timeoutMs = 5000): Promise<PortsReply> {
  let dirFd: number;
  try {
    dirFd = openSync(bundle, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (error) {
    return Promise.reject(new PortsUnreachableError((error as NodeJS.ErrnoException).code ?? 'ENOENT', `open ${bundle}`));
  }
  return new Promise<PortsReply>((resolve, reject) => {
    const socket = createConnection({ path: `/proc/self/fd/${dirFd}/ports.sock` });
    let buffer = '';
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      closeSync(dirFd);
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new PortsUnreachableError('ETIMEDOUT', 'the container monitor did not answer'))), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl === -1) return;
      const line = buffer.slice(0, nl);
      finish(() => {
        try {
          resolve(JSON.parse(line) as PortsReply);
        } catch {
          reject(new PortsUnreachableError('EBADMSG', 'the container monitor answered something unreadable'));
        }
      });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(() => reject(new PortsUnreachableError(error.code ?? 'EIO', error.message))));
    socket.on('close', () => finish(() => reject(new PortsUnreachableError('ECONNRESET', 'the container monitor closed the connection'))));
  });
}
