import { isIP } from 'node:net';

import { DevenvError } from '../../errors.js';

/** Transport protocol of a forward. */
export type PortProtocol = 'tcp' | 'udp';
/** Who asked for a forward: the container's configuration, a command (`-p`, `ports add`), or automatic forwarding. */
export type PortSource = 'config' | 'cli' | 'auto';

/** One forward as config.json's `devenv.ports.forwards[]` holds it (docs/runtime-contract.md, "Ports"). */
export interface PortForwardSpec {
  containerPort: number;
  /**
   * Host port. Absent: the container port, or the next free one above it (with a warning). 0: any free port.
   * A taken port fails only with requireLocalPort.
   */
  hostPort?: number;
  /** Host address to listen on; absent: 127.0.0.1 and ::1. */
  hostIp?: string;
  protocol: PortProtocol;
  /** Fail instead of choosing another host port when hostPort is taken. */
  requireLocalPort?: boolean;
  label?: string;
  source: PortSource;
}

/** portsAttributes for automatic forwarding, as port ranges. */
export interface AutoForwardAttribute {
  from: number;
  to: number;
  label?: string;
  requireLocalPort?: boolean;
  /** onAutoForward: "ignore". */
  ignore?: boolean;
}

/** Automatic forwarding of the TCP ports processes in the container start listening on. */
export interface AutoForwardSpec {
  enabled: boolean;
  /** Container ports never forwarded automatically. */
  ignore: number[];
  attributes?: AutoForwardAttribute[];
  /** otherPortsAttributes.onAutoForward "ignore": only ports with attributes are forwarded. */
  ignoreOthers?: boolean;
}

/** config.json's `devenv.ports`. */
export interface PortsSpec {
  forwards: PortForwardSpec[];
  autoForward: AutoForwardSpec;
}

function parsePort(text: string, what: string, value: string, allowZero = false): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535 || (!allowZero && Number(text) === 0)) {
    throw new DevenvError('USAGE', `invalid -p value \`${value}\`: ${what} \`${text}\` is not a port number (1-65535)`);
  }
  return Number(text);
}

function parseRange(text: string, what: string, value: string, allowZero = false): [number, number] {
  const dash = text.indexOf('-');
  if (dash === -1) {
    const p = parsePort(text, what, value, allowZero);
    return [p, p];
  }
  const lo = parsePort(text.slice(0, dash), what, value);
  const hi = parsePort(text.slice(dash + 1), what, value);
  if (hi < lo) throw new DevenvError('USAGE', `invalid -p value \`${value}\`: ${what} range \`${text}\` is reversed`);
  if (hi - lo >= 1000) throw new DevenvError('USAGE', `invalid -p value \`${value}\`: ${what} range \`${text}\` is too large (at most 1000 ports)`);
  return [lo, hi];
}

/** Split `[ip:]host:container` at the right colons: IPv6 addresses come in brackets (`[::1]:8080:80`). */
function splitPublish(value: string, body: string): { ip?: string; host?: string; container: string } {
  let ip: string | undefined;
  let rest = body;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1 || rest[close + 1] !== ':') throw new DevenvError('USAGE', `invalid -p value \`${value}\`: expected [IPv6]:HOST:CONTAINER`);
    ip = rest.slice(1, close);
    rest = rest.slice(close + 2);
    const colon = rest.lastIndexOf(':');
    if (colon === -1) throw new DevenvError('USAGE', `invalid -p value \`${value}\`: expected [IPv6]:HOST:CONTAINER`);
    return { ip, host: rest.slice(0, colon), container: rest.slice(colon + 1) };
  }
  const parts = rest.split(':');
  if (parts.length === 1) return { container: parts[0] as string };
  if (parts.length === 2) return { host: parts[0] as string, container: parts[1] as string };
  if (parts.length === 3) return { ip: parts[0] as string, host: parts[1] as string, container: parts[2] as string };
  throw new DevenvError('USAGE', `invalid -p value \`${value}\`: expected [IP:]HOST:CONTAINER[/udp] or CONTAINER[/udp]`, {
    hint: 'Write IPv6 addresses in brackets: -p [::1]:8080:80',
  });
}

/**
 * `-p` / `--publish` as Docker spells it: `CONTAINER`, `HOST:CONTAINER`, `IP:HOST:CONTAINER`, `IP::CONTAINER`,
 * `[IPv6]:HOST:CONTAINER`, each with `/tcp` or `/udp`, ports or equal-sized ranges (`8000-8002:9000-9002`).
 * An explicit host port must be free (requireLocalPort), as with Docker; `CONTAINER` alone takes the same host
 * port or the next free one; host port 0 (or `IP::CONTAINER`) takes any free port.
 */
export function parsePublishFlag(value: string, source: PortSource = 'cli'): PortForwardSpec[] {
  const slash = value.lastIndexOf('/');
  const protoText = slash === -1 ? 'tcp' : value.slice(slash + 1).toLowerCase();
  if (protoText !== 'tcp' && protoText !== 'udp') {
    throw new DevenvError('USAGE', `invalid -p value \`${value}\`: protocol \`${protoText}\` is not supported; use tcp or udp`);
  }
  const protocol: PortProtocol = protoText;
  const body = slash === -1 ? value : value.slice(0, slash);
  if (body === '') throw new DevenvError('USAGE', 'invalid -p value ``: expected [IP:]HOST:CONTAINER[/udp] or CONTAINER[/udp]');
  const { ip, host, container } = splitPublish(value, body);
  if (ip !== undefined && ip !== '' && isIP(ip) === 0) {
    throw new DevenvError('USAGE', `invalid -p value \`${value}\`: \`${ip}\` is not an IP address`);
  }
  const [clo, chi] = parseRange(container, 'container port', value);
  const hostRange = host === undefined || host === '' ? undefined : parseRange(host, 'host port', value, true);
  if (hostRange && hostRange[0] !== hostRange[1] && hostRange[1] - hostRange[0] !== chi - clo) {
    throw new DevenvError('USAGE', `invalid -p value \`${value}\`: the host and container ranges differ in size`);
  }
  const anyHost = host === '' || (hostRange !== undefined && hostRange[0] === 0);
  const out: PortForwardSpec[] = [];
  for (let port = clo; port <= chi; port += 1) {
    const spec: PortForwardSpec = { containerPort: port, protocol, source };
    if (ip) spec.hostIp = ip;
    if (anyHost) spec.hostPort = 0;
    else if (hostRange) {
      spec.hostPort = hostRange[0] === hostRange[1] && chi === clo ? hostRange[0] : hostRange[0] + (port - clo);
      spec.requireLocalPort = true;
    }
    out.push(spec);
  }
  return out;
}

/** The devcontainer.json `portsAttributes` entry shape (config/config-types.ts), restated to keep runtime/ apart. */
export interface PortAttributesInput {
  label?: string;
  onAutoForward?: string;
  requireLocalPort?: boolean;
}

/** What `portsSpecFor` combines: `-p` flags and the dev container's port properties. */
export interface PortsSpecInput {
  /** `-p` values. */
  publish?: readonly string[];
  /** The source of the `publish` forwards: `cli` (default; `container run -p`), `config` (devcontainer.json runArgs). */
  publishSource?: PortSource;
  /** devcontainer.json forwardPorts: numbers, or "localhost:PORT". */
  forwardPorts?: readonly (number | string)[];
  /** devcontainer.json appPort: a number (same host port, must be free) or a `-p` style string, or a list. */
  appPort?: number | string | readonly (number | string)[];
  portsAttributes?: Readonly<Record<string, PortAttributesInput>>;
  otherPortsAttributes?: PortAttributesInput;
  /** Forward ports that processes start listening on (VS Code's behaviour; `devenv up` turns it on). */
  autoForward?: boolean;
  /** The container's network mode: with `host` there is nothing to forward. */
  network?: string;
}

export interface PortsSpecResult {
  /** undefined when there is nothing to forward and automatic forwarding is off. */
  spec: PortsSpec | undefined;
  /** Settings that cannot be honoured (e.g. "db:5432" forwards or process-name attribute keys). */
  warnings: string[];
}

const HOST_NETWORK_WARNING = 'the container uses the host network: its ports are reachable as they are; the port forwards are ignored';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** `"3000"` or `"3000-3010"`; undefined for keys devenv cannot match (regular expressions, process names). */
function attributeRange(key: string): [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(key.trim());
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 1 || to > 65535 || to < from) return undefined;
  return [from, to];
}

/**
 * The ports part of a container's spec, from `-p` flags and devcontainer.json's forwardPorts, appPort,
 * portsAttributes and otherPortsAttributes. Pure. Throws USAGE/CONFIG_INVALID errors for malformed values.
 */
export function portsSpecFor(input: PortsSpecInput): PortsSpecResult {
  const warnings: string[] = [];
  const forwards: PortForwardSpec[] = [];
  const attributes: AutoForwardAttribute[] = [];
  for (const [key, attrs] of Object.entries(input.portsAttributes ?? {})) {
    const range = attributeRange(key);
    if (!range) {
      warnings.push(`portsAttributes \`${key}\`: only port numbers and ranges are matched; this entry is ignored`);
      continue;
    }
    attributes.push({
      from: range[0],
      to: range[1],
      ...(attrs.label ? { label: attrs.label } : {}),
      ...(attrs.requireLocalPort ? { requireLocalPort: true } : {}),
      ...(attrs.onAutoForward === 'ignore' ? { ignore: true } : {}),
    });
  }
  const attributeFor = (port: number): AutoForwardAttribute | undefined => attributes.find((a) => port >= a.from && port <= a.to);
  const withAttributes = (spec: PortForwardSpec): PortForwardSpec => {
    const a = attributeFor(spec.containerPort);
    if (!a) return spec;
    return {
      ...spec,
      ...(a.label && spec.label === undefined ? { label: a.label } : {}),
      ...(a.requireLocalPort ? { requireLocalPort: true } : {}),
    };
  };

  for (const value of input.publish ?? []) forwards.push(...parsePublishFlag(value, input.publishSource ?? 'cli').map(withAttributes));
  const appPorts = input.appPort === undefined ? [] : Array.isArray(input.appPort) ? input.appPort : [input.appPort];
  for (const p of appPorts as (number | string)[]) {
    if (typeof p === 'number') forwards.push(withAttributes({ containerPort: checkConfigPort(p, 'appPort'), hostPort: p, requireLocalPort: true, protocol: 'tcp', source: 'config' }));
    else forwards.push(...parsePublishFlag(/^\d+$/.test(p) ? `${p}:${p}` : p, 'config').map(withAttributes));
  }
  for (const p of input.forwardPorts ?? []) {
    let port: number;
    if (typeof p === 'number') {
      port = checkConfigPort(p, 'forwardPorts');
    } else {
      const colon = p.lastIndexOf(':');
      const host = colon === -1 ? '' : p.slice(0, colon);
      if (colon === -1 || !LOCAL_HOSTS.has(host)) {
        warnings.push(`forwardPorts \`${p}\`: only ports of the dev container itself can be forwarded; ignored`);
        continue;
      }
      port = checkConfigPort(Number(p.slice(colon + 1)), 'forwardPorts');
    }
    if (forwards.some((f) => f.containerPort === port && f.protocol === 'tcp')) continue;
    forwards.push(withAttributes({ containerPort: port, protocol: 'tcp', source: 'config' }));
  }

  const autoEnabled = input.autoForward === true;
  if (input.network === 'host') {
    if (forwards.length > 0) warnings.push(HOST_NETWORK_WARNING);
    return { spec: undefined, warnings };
  }
  if (forwards.length === 0 && !autoEnabled) return { spec: undefined, warnings };
  const ignore = [...new Set(attributes.filter((a) => a.ignore && a.from === a.to).map((a) => a.from))];
  return {
    spec: {
      forwards,
      autoForward: {
        enabled: autoEnabled,
        ignore,
        ...(attributes.length > 0 ? { attributes } : {}),
        ...(input.otherPortsAttributes?.onAutoForward === 'ignore' ? { ignoreOthers: true } : {}),
      },
    },
    warnings,
  };
}

function checkConfigPort(port: number, what: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DevenvError('CONFIG_INVALID', `${what}: \`${port}\` is not a port number (1-65535)`);
  }
  return port;
}

/** `8080/tcp -> 127.0.0.1:8080`, as `docker port` prints a forward. */
export function formatForward(f: { containerPort: number; protocol: string; hostIp: string; hostPort: number }): string {
  const ip = f.hostIp.includes(':') ? `[${f.hostIp}]` : f.hostIp;
  return `${f.containerPort}/${f.protocol} -> ${ip}:${f.hostPort}`;
}

/**
 * The ports part of a new container's spec: its `-p` values, then what the caller computed (`devenv up`:
 * portsSpecFor over forwardPorts, appPort and portsAttributes). Throws USAGE for a malformed `-p`, before
 * anything is created.
 */
export function createPortsSpec(options: { publish?: readonly string[]; autoForward?: boolean; ports?: PortsSpec; network?: string }): PortsSpecResult {
  const flags = portsSpecFor({
    publish: options.publish ?? [],
    ...(options.autoForward ? { autoForward: true } : {}),
    ...(options.network !== undefined ? { network: options.network } : {}),
  });
  if (!options.ports) return flags;
  if (options.network === 'host') {
    const warnings = [...flags.warnings];
    if (options.ports.forwards.length > 0 && !warnings.includes(HOST_NETWORK_WARNING)) warnings.push(HOST_NETWORK_WARNING);
    return { spec: undefined, warnings };
  }
  return {
    spec: {
      forwards: [...(flags.spec?.forwards ?? []), ...options.ports.forwards],
      autoForward: { ...options.ports.autoForward, enabled: options.ports.autoForward.enabled || options.autoForward === true },
    },
    warnings: flags.warnings,
  };
}
