import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { DevenvError } from '../../errors.js';
import type { ContainerRecord } from '../../runtime/container-store.js';
import { parsePublishFlag, type PortProtocol } from '../../runtime/ports/port-spec.js';
import type { PortForward } from '../../runtime/ports/ports-state.js';
import { addPort, listPorts, removePort } from '../container/ports.js';
import type { ServiceContext } from '../service-context.js';
import { requireRunningProject, type ProjectLocation } from './project-lookup.js';
import type { RequiredHostPort } from './project-ports-spec.js';

/** One forward of a project, as `devenv ports --json` and `up --json`'s `forwardedPorts` show it. */
export interface ProjectPort {
  containerPort: number;
  protocol: PortProtocol;
  /** The first host address listened on (127.0.0.1 by default) … */
  hostIp: string;
  /** … and all of them (127.0.0.1 and ::1 by default). */
  hostIps: string[];
  hostPort: number;
  /** Where to point a browser (TCP only). */
  url?: string;
  label?: string;
  /** config (devcontainer.json), cli (`devenv ports add`) or auto (a listener found in the container). */
  source: PortForward['source'];
  requireLocalPort?: boolean;
  since: string;
}

/** `devenv ports`' result. */
export interface ProjectPortsList {
  containerId: string;
  containerName: string;
  /** Whether the container forwards ports at all (false: it uses the host's network). */
  available: boolean;
  autoForward: boolean;
  network?: string;
  ports: ProjectPort[];
}

function urlHost(ip: string): string {
  if (ip === '0.0.0.0') return '127.0.0.1';
  if (ip === '::') return '[::1]';
  return ip.includes(':') ? `[${ip}]` : ip;
}

/** A monitor's forward as a project port (pure). */
export function toProjectPort(f: PortForward): ProjectPort {
  return {
    containerPort: f.containerPort,
    protocol: f.protocol,
    hostIp: f.hostIp,
    hostIps: f.hostIps,
    hostPort: f.hostPort,
    ...(f.protocol === 'tcp' ? { url: `http://${urlHost(f.hostIp)}:${f.hostPort}` } : {}),
    ...(f.label ? { label: f.label } : {}),
    source: f.source,
    ...(f.requireLocalPort ? { requireLocalPort: true } : {}),
    since: f.since,
  };
}

/**
 * The forwards of a running project container. Right after a start the monitor may not have written ports.json
 * yet: wait for it up to `waitMs`.
 */
export async function forwardedPorts(ctx: ServiceContext, record: ContainerRecord, waitMs = 0): Promise<ProjectPort[]> {
  let status = listPorts(ctx, record);
  for (let waited = 0; status.running && !status.available && record.spec.ports && waited < waitMs; waited += 50) {
    await sleep(50);
    status = listPorts(ctx, record);
  }
  return status.forwards.map(toProjectPort);
}

/** `devenv ports`: the forwards of the project's running container. */
export function listProjectPorts(ctx: ServiceContext, location: ProjectLocation): ProjectPortsList {
  const { record } = requireRunningProject(ctx, location);
  const status = listPorts(ctx, record);
  return {
    containerId: record.id,
    containerName: record.name,
    available: status.available,
    autoForward: status.autoForward,
    ...(record.spec.network ? { network: record.spec.network } : {}),
    ports: status.forwards.map(toProjectPort),
  };
}

export interface AddProjectPortOptions {
  /** `PORT`, `HOSTPORT:PORT` (also `IP:HOSTPORT:PORT`, `/udp`). */
  port: string;
  label?: string;
  /** Fail when the host port is taken instead of taking the next free one. */
  requireLocalPort: boolean;
}

/**
 * `devenv ports add`: forward a port of the project's running container until it stops. A host port given is the
 * one wanted; when taken, the next free one is used (with a warning) unless requireLocalPort.
 */
export async function addProjectPort(ctx: ServiceContext, location: ProjectLocation, options: AddProjectPortOptions): Promise<{ ports: ProjectPort[]; warnings: string[] }> {
  const specs = parsePublishFlag(options.port, 'cli').map((s) => ({
    ...s,
    requireLocalPort: options.requireLocalPort,
    ...(options.label !== undefined ? { label: options.label } : {}),
  }));
  const { record } = requireRunningProject(ctx, location);
  const ports: ProjectPort[] = [];
  const warnings: string[] = [];
  for (const spec of specs) {
    for (const added of await addPort(ctx, record, spec)) {
      ports.push(toProjectPort(added.forward));
      if (added.warning) warnings.push(added.warning);
    }
  }
  return { ports, warnings };
}

/** `devenv ports rm PORT[/udp]`: stop forwarding a container port (an automatic one stays off while it listens). */
export async function removeProjectPort(ctx: ServiceContext, location: ProjectLocation, port: string): Promise<ProjectPort[]> {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(port);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) {
    throw new DevenvError('USAGE', `ports rm: \`${port}\` is not a container port`, { hint: 'Give the container port: `devenv ports rm 3000` (or 3000/udp).' });
  }
  const { record } = requireRunningProject(ctx, location);
  const removed = await removePort(ctx, record, Number(m[1]), { protocol: (m[2] as PortProtocol | undefined) ?? 'tcp' });
  return removed.map(toProjectPort);
}

/** Whether something listens on 127.0.0.1:port (or ::1:port) right now. */
function isHostPortTaken(port: number): Promise<boolean> {
  const probe = (host: string): Promise<boolean> =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE'));
      srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(false)));
    });
  return probe('127.0.0.1').then((v4) => v4 || probe('::1'));
}

/**
 * A start that failed because a host port that must be free is taken (PORT_IN_USE): the same error, naming the
 * devcontainer.json property that requires the port. Other errors are returned as they are.
 */
export async function explainPortInUse(error: unknown, required: readonly RequiredHostPort[], configFile: string): Promise<unknown> {
  if (!(error instanceof DevenvError) || error.code !== 'PORT_IN_USE' || required.length === 0) return error;
  const taken: RequiredHostPort[] = [];
  for (const r of required) if (await isHostPortTaken(r.hostPort)) taken.push(r);
  const cp = (r: RequiredHostPort): string => `container port ${r.containerPort}${r.protocol === 'udp' ? '/udp' : ''}`;
  const why =
    taken.length === 1 && taken[0]
      ? `${taken[0].property} requires it, for ${cp(taken[0])}`
      : (taken.length > 0 ? taken : required).map((r) => `host port ${r.hostPort}: ${r.property}, for ${cp(r)}`).join('; ');
  const first = (taken[0] ?? required[0]) as RequiredHostPort;
  return new DevenvError('PORT_IN_USE', `${error.message} (${why})`, {
    cause: error,
    hint: `Stop what listens on port ${first.hostPort}, or change ${first.property} in ${configFile} so that another host port may be used (then \`devenv up --rebuild\`).`,
  });
}
