import { DevenvError } from '../../errors.js';

/**
 * How a container is networked (docs/networking.md): `private` (the default) gives it its own network namespace
 * with outbound access through slirp4netns, `host` shares the host's, `none` has only a loopback interface.
 */
export type NetworkMode = 'private' | 'host' | 'none';

/** A container's network when nothing says otherwise (`container run|create`, `up`, a Dockerfile's RUN). */
export const DEFAULT_NETWORK_MODE: NetworkMode = 'private';

/** Every value `--network` accepts: ours, and the names Docker and Podman users type for the same thing. */
export const NETWORK_FLAG_VALUES = ['private', 'host', 'none', 'bridge', 'slirp4netns', 'pasta', 'default'] as const;

const ALIASES: Record<string, NetworkMode> = {
  private: 'private',
  bridge: 'private',
  slirp4netns: 'private',
  pasta: 'private',
  default: 'private',
  host: 'host',
  none: 'none',
};

/**
 * `--network VALUE` (also runArgs): private, host or none, and the aliases Docker and Podman users type
 * (`bridge`, `slirp4netns`, `pasta`, `default` all mean private). Options after a colon (`slirp4netns:mtu=…`)
 * are refused rather than ignored.
 */
export function parseNetworkMode(value: string): NetworkMode {
  const mode = ALIASES[value.trim().toLowerCase()];
  if (mode) return mode;
  const hint =
    value.startsWith('container:') || value.startsWith('ns:')
      ? 'Joining another container or namespace is not supported: use private (the default), host or none.'
      : `Use one of ${NETWORK_FLAG_VALUES.join(', ')} (bridge, slirp4netns, pasta and default all mean private).`;
  throw new DevenvError('USAGE', `invalid --network value \`${value}\``, { hint });
}

/** One `--add-host NAME:IP` entry (Docker also accepts `NAME=IP`); `host-gateway` stands for the host. */
export interface ExtraHost {
  name: string;
  /** An IPv4 or IPv6 address, or `host-gateway`. */
  address: string;
}

const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

/** `--add-host NAME:IP`, `NAME=IP` or `NAME:host-gateway` (IPv6 in brackets or bare: `NAME:[::1]`, `NAME:::1`). */
export function parseAddHost(value: string): ExtraHost {
  const sep = value.search(/[:=]/);
  const name = sep === -1 ? '' : value.slice(0, sep);
  let address = sep === -1 ? '' : value.slice(sep + 1);
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const valid = HOSTNAME.test(name) && (address === 'host-gateway' || IPV4.test(address) || (address.includes(':') && IPV6.test(address)));
  if (!valid) {
    throw new DevenvError('USAGE', `invalid --add-host value \`${value}\``, {
      hint: 'Use NAME:IP (e.g. `db:10.0.2.2`), or NAME:host-gateway for the host itself.',
    });
  }
  return { name, address };
}
