import type { PortEvent } from '../../runtime/ports/ports-state.js';
import type { ProjectPort } from '../../services/project/project-ports.js';

function where(p: { protocol?: string; hostIp?: string; hostPort?: number }): string {
  const ip = p.hostIp ?? '127.0.0.1';
  const host = ip === '0.0.0.0' ? '127.0.0.1' : ip === '::' ? '[::1]' : ip.includes(':') ? `[${ip}]` : ip;
  return p.protocol === 'udp' ? `${host}:${p.hostPort ?? '?'} (udp)` : `http://${host}:${p.hostPort ?? '?'}`;
}

function portName(p: { containerPort?: number; protocol?: string }): string {
  return `port ${p.containerPort ?? '?'}${p.protocol === 'udp' ? '/udp' : ''}`;
}

/** `port 3000 → http://127.0.0.1:3000 (web)`: one line per forward, as `up` ends and `devenv ports` list them. */
export function formatPortLine(p: ProjectPort): string {
  const target = p.url ?? where(p);
  return `${portName(p)} → ${target}${p.label ? ` (${p.label})` : ''}`;
}

/** A monitor notice as one line: forwarded (with why another host port), no longer forwarded, or failed. */
export function formatPortEvent(e: PortEvent): string {
  const label = e.label ? ` (${e.label})` : '';
  switch (e.event) {
    case 'forwarded':
      return `${portName(e)} → ${where(e)}${label}${e.source === 'auto' ? ', forwarded automatically' : ''}${e.message ? `: ${e.message}` : ''}`;
    case 'removed':
      return `${portName(e)} is no longer forwarded${label}${e.message ? `: ${e.message}` : ''}`;
    default:
      return e.containerPort === undefined
        ? `port forwarding: ${e.message ?? e.code ?? 'failed'}`
        : `${portName(e)} could not be forwarded${label}: ${e.message ?? e.code ?? 'failed'}`;
  }
}

/** The lines `up` prints after its result: the forwards, or nothing when there are none. */
export function formatForwardedPorts(ports: readonly ProjectPort[]): string {
  return ports.map((p) => `${formatPortLine(p)}\n`).join('');
}
