import type { PortAttributes } from '../../devcontainer/config/config-types.js';
import { DevenvError } from '../../errors.js';
import { parsePublishFlag, portsSpecFor, type PortForwardSpec, type PortsSpec } from '../../runtime/ports/port-spec.js';

/** The port properties of a project: devcontainer.json (after the metadata merge) and its runArgs `-p`. */
export interface ProjectPortsInput {
  forwardPorts: readonly (number | string)[];
  appPort?: number | string | readonly (number | string)[];
  portsAttributes: Readonly<Record<string, PortAttributes>>;
  otherPortsAttributes?: PortAttributes;
  /** runArgs `-p` / `--publish` values. */
  publish: readonly string[];
  /** The network mode runArgs asked for (undefined: the runtime's default). */
  network?: string;
}

/** A forward whose host port must be free, and the setting that says so (for the error when it is not). */
export interface RequiredHostPort {
  containerPort: number;
  hostPort: number;
  protocol: 'tcp' | 'udp';
  /** `appPort`, `runArgs -p 8080:80`, `portsAttributes["3000"].requireLocalPort`. */
  property: string;
}

export interface ProjectPortsResult {
  /** undefined only with the host network (nothing to forward); otherwise automatic forwarding is on. */
  spec: PortsSpec | undefined;
  warnings: string[];
  required: RequiredHostPort[];
}

function checkPublish(value: string, property: string): void {
  try {
    parsePublishFlag(value, 'config');
  } catch (error) {
    if (!(error instanceof DevenvError)) throw error;
    throw new DevenvError('CONFIG_INVALID', `${property}: ${error.message}`, {
      hint: 'Write it as Docker does: CONTAINER, HOST:CONTAINER or IP:HOST:CONTAINER, with /udp for UDP (e.g. "8080:3000").',
    });
  }
}

/** The attribute key (`"3000"`, `"3000-3010"`) matching a port with requireLocalPort, if any. */
function requiringAttribute(attributes: Readonly<Record<string, PortAttributes>>, port: number): string | undefined {
  for (const [key, attrs] of Object.entries(attributes)) {
    if (attrs.requireLocalPort !== true) continue;
    const m = /^\s*(\d{1,5})(?:-(\d{1,5}))?\s*$/.exec(key);
    if (m && port >= Number(m[1]) && port <= Number(m[2] ?? m[1])) return key;
  }
  return undefined;
}

function propertyOf(input: ProjectPortsInput, forward: PortForwardSpec): string {
  const key = requiringAttribute(input.portsAttributes, forward.containerPort);
  if (key !== undefined) return `portsAttributes[${JSON.stringify(key)}].requireLocalPort`;
  const matches = (value: string): boolean => parsePublishFlag(value, 'config').some((f) => f.containerPort === forward.containerPort && f.protocol === forward.protocol);
  const appPorts = input.appPort === undefined ? [] : Array.isArray(input.appPort) ? input.appPort : [input.appPort];
  for (const p of appPorts as (number | string)[]) {
    if (typeof p === 'number' ? p === forward.containerPort : matches(/^\d+$/.test(p) ? `${p}:${p}` : p)) return `appPort ${JSON.stringify(p)}`;
  }
  const published = input.publish.find(matches);
  return published !== undefined ? `runArgs -p ${published}` : 'forwardPorts';
}

/**
 * The ports part of a project container's spec: runArgs `-p`, appPort and forwardPorts with their portsAttributes,
 * and automatic forwarding (always on for projects, as VS Code users expect; `onAutoForward: "ignore"` per port or
 * in otherPortsAttributes narrows it). Pure. Throws CONFIG_INVALID naming the property for a malformed value.
 */
export function projectPortsSpec(input: ProjectPortsInput): ProjectPortsResult {
  for (const value of input.publish) checkPublish(value, 'runArgs');
  const appPorts = input.appPort === undefined ? [] : Array.isArray(input.appPort) ? input.appPort : [input.appPort];
  for (const p of appPorts as (number | string)[]) if (typeof p === 'string' && !/^\d+$/.test(p)) checkPublish(p, 'appPort');
  const result = portsSpecFor({
    publish: input.publish,
    publishSource: 'config',
    forwardPorts: input.forwardPorts,
    ...(input.appPort !== undefined ? { appPort: input.appPort } : {}),
    portsAttributes: input.portsAttributes,
    ...(input.otherPortsAttributes ? { otherPortsAttributes: input.otherPortsAttributes } : {}),
    autoForward: true,
    ...(input.network !== undefined ? { network: input.network } : {}),
  });
  const required = (result.spec?.forwards ?? [])
    .filter((f) => f.requireLocalPort === true && f.hostPort !== 0)
    .map((f) => ({ containerPort: f.containerPort, hostPort: f.hostPort ?? f.containerPort, protocol: f.protocol, property: propertyOf(input, f) }));
  return { spec: result.spec, warnings: result.warnings, required };
}
