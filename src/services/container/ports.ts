import { DevenvError } from '../../errors.js';
import { bundleDir, readContainerState, type ContainerRecord } from '../../runtime/container-store.js';
import { parsePublishFlag, type PortForwardSpec } from '../../runtime/ports/port-spec.js';
import { PortsUnreachableError, requestPorts, type PortsReply, type PortsRequest } from '../../runtime/ports/ports-client.js';
import { readPortEvents, readPortsFile, type PortEvent, type PortForward } from '../../runtime/ports/ports-state.js';
import type { ServiceContext } from '../service-context.js';

export {
  createPortsSpec,
  formatForward,
  parsePublishFlag,
  portsSpecFor,
  type PortForwardSpec,
  type PortsSpec,
  type PortsSpecInput,
  type PortsSpecResult,
} from '../../runtime/ports/port-spec.js';
export type { PortEvent, PortForward } from '../../runtime/ports/ports-state.js';

/** A container's forwards as its monitor last wrote them. */
export interface PortsStatus {
  running: boolean;
  /** The monitor forwards ports (false: not running, or the container uses the host's network). */
  available: boolean;
  autoForward: boolean;
  forwards: PortForward[];
}

/** The result of one added forward. */
export interface AddPortResult {
  forward: PortForward;
  /** Set when another host port than the one asked for was chosen. */
  warning?: string;
}

/**
 * The forwards of a container, from `<bundle>/ports.json` (no round trip to the monitor). A file left by a monitor
 * that is gone is ignored.
 */
export function listPorts(ctx: ServiceContext, record: ContainerRecord): PortsStatus {
  const dir = bundleDir(ctx.root, record.id);
  const state = readContainerState(dir);
  if (state.status !== 'running') return { running: false, available: false, autoForward: false, forwards: [] };
  const file = readPortsFile(dir);
  if (!file || (state.monitor?.monitorPid !== undefined && file.monitorPid !== state.monitor.monitorPid)) {
    return { running: true, available: false, autoForward: false, forwards: [] };
  }
  return { running: true, available: true, autoForward: file.autoForward?.enabled === true, forwards: file.forwards };
}

/**
 * Notices of the container's monitor (forwarded, removed, failed) from byte `offset` of ports.log on; pass the
 * returned offset next time to get only new ones.
 */
export function readPortNotices(ctx: ServiceContext, record: ContainerRecord, offset = 0): { events: PortEvent[]; offset: number } {
  return readPortEvents(bundleDir(ctx.root, record.id), offset);
}

function notAvailable(record: ContainerRecord): DevenvError {
  if (record.spec.network === 'host') {
    return new DevenvError('PORT_FORWARD', `container \`${record.name}\` uses the host network: its ports need no forwarding`, {
      hint: 'Its servers are reachable on the host as they are.',
    });
  }
  if (!record.spec.ports) {
    return new DevenvError('PORT_FORWARD', `container \`${record.name}\` was created without port forwarding`, {
      hint: 'Publish ports when creating it (`-p PORT`, `--auto-forward`, or forwardPorts in devcontainer.json).',
    });
  }
  return new DevenvError('PORT_FORWARD', `port forwarding is not available for container \`${record.name}\``, {
    kind: 'external',
    hint: `Its monitor predates port forwarding: stop and start it (\`devenv container stop ${record.name} && devenv container start ${record.name}\`).`,
  });
}

async function send(ctx: ServiceContext, record: ContainerRecord, request: PortsRequest): Promise<Extract<PortsReply, { ok: true }>> {
  const dir = bundleDir(ctx.root, record.id);
  const state = readContainerState(dir);
  if (state.status !== 'running') {
    throw new DevenvError('CONTAINER_STATE', `container \`${record.name}\` is not running`, { hint: `Start it first: \`devenv container start ${record.name}\`.` });
  }
  let reply: PortsReply;
  try {
    reply = await requestPorts(dir, request);
  } catch (error) {
    if (error instanceof PortsUnreachableError && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')) throw notAvailable(record);
    throw new DevenvError('PORT_FORWARD', `ports of container \`${record.name}\`: ${(error as Error).message}`, { kind: 'external', cause: error });
  }
  if (reply.ok) return reply;
  switch (reply.code) {
    case 'EADDRINUSE':
      throw new DevenvError('PORT_IN_USE', `container \`${record.name}\`: ${reply.message}`, {
        hint: 'Choose another host port, or leave it out to take the next free one.',
      });
    case 'EINVAL':
      throw new DevenvError('USAGE', `container \`${record.name}\`: ${reply.message}`);
    case 'EEXIST':
    case 'ENOENT':
      throw new DevenvError('PORT_FORWARD', `container \`${record.name}\`: ${reply.message}`, {
        hint: `\`devenv container port ${record.name}\` lists its forwards.`,
      });
    default:
      throw new DevenvError('PORT_FORWARD', `container \`${record.name}\`: ${reply.message}`, { kind: 'external' });
  }
}

/**
 * Forward a port of a running container now (until it stops; not kept for the next start). `spec` is a
 * PortForwardSpec or a `-p` style string (`3000`, `8080:3000`, `127.0.0.1:8080:3000/udp`, ranges).
 */
export async function addPort(ctx: ServiceContext, record: ContainerRecord, spec: PortForwardSpec | string): Promise<AddPortResult[]> {
  const specs = typeof spec === 'string' ? parsePublishFlag(spec, 'cli') : [spec];
  const out: AddPortResult[] = [];
  for (const s of specs) {
    const reply = await send(ctx, record, { op: 'add', forward: s });
    if (!reply.forward) throw new DevenvError('INTERNAL', `container \`${record.name}\`: the monitor's answer has no forward`);
    out.push({ forward: reply.forward, ...(reply.warning ? { warning: reply.warning } : {}) });
  }
  return out;
}

/**
 * Stop forwarding a container port (every host port it has, or only `hostPort`). An automatic forward removed
 * this way is not brought back while the container runs.
 */
export async function removePort(
  ctx: ServiceContext,
  record: ContainerRecord,
  containerPort: number,
  options: { protocol?: 'tcp' | 'udp'; hostPort?: number } = {},
): Promise<PortForward[]> {
  const reply = await send(ctx, record, {
    op: 'remove',
    containerPort,
    protocol: options.protocol ?? 'tcp',
    ...(options.hostPort !== undefined ? { hostPort: options.hostPort } : {}),
  });
  return reply.removed ?? [];
}
