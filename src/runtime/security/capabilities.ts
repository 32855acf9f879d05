import { DevenvError } from '../../errors.js';

/**
 * Every Linux capability, indexed by its number (`include/uapi/linux/capability.h`: CAP_CHOWN is 0,
 * CAP_CHECKPOINT_RESTORE, the last one as of Linux 5.9 and still in 6.x, is 40).
 */
export const LINUX_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/** A capability name in its canonical form: upper case, with the `CAP_` prefix. */
export type CapabilityName = (typeof LINUX_CAPABILITIES)[number];

/** What `--cap-add` / `--cap-drop` accept besides capability names: every capability at once. */
export const ALL_CAPABILITIES = 'ALL';

/**
 * The capabilities a container gets when nothing is added or dropped: Podman's default set since Podman 4
 * (containers/common `pkg/config/default.go` `DefaultCapabilities`). Docker's set adds CAP_AUDIT_WRITE,
 * CAP_MKNOD and CAP_NET_RAW.
 */
export const DEFAULT_CAPABILITIES: readonly CapabilityName[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];

const KNOWN = new Set<string>(LINUX_CAPABILITIES);

export function isCapabilityName(value: string): value is CapabilityName {
  return KNOWN.has(value);
}

/**
 * Turns a user's spelling (`sys_admin`, `SYS_ADMIN`, `CAP_SYS_ADMIN`, `all`) into the canonical name, or
 * `ALL`. Throws a USAGE error naming the capability when it is not one of capabilities(7).
 */
export function normalizeCapability(input: string): CapabilityName | typeof ALL_CAPABILITIES {
  const upper = input.trim().toUpperCase();
  if (upper === ALL_CAPABILITIES) return ALL_CAPABILITIES;
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (isCapabilityName(name)) return name;
  const suggestion = suggestCapability(name);
  throw new DevenvError('USAGE', `unknown capability \`${input}\``, {
    hint:
      (suggestion === undefined ? '' : `Did you mean ${suggestion.slice('CAP_'.length)}? `) +
      'Use a name from capabilities(7), with or without the CAP_ prefix and in any case (e.g. SYS_PTRACE), or ALL.',
  });
}

/** What the container asked for: `--cap-add`, `--cap-drop`, `--privileged`. */
export interface CapabilityOptions {
  add?: readonly string[];
  drop?: readonly string[];
  privileged?: boolean;
}

/** The OCI `process.capabilities` object, every set as canonical `CAP_*` names in capability-number order. */
export interface OciCapabilities {
  bounding: CapabilityName[];
  effective: CapabilityName[];
  permitted: CapabilityName[];
  inheritable: CapabilityName[];
  ambient: CapabilityName[];
}

/**
 * The container's capabilities, with Docker's rules (moby `daemon/pkg/oci/caps/utils.go` `TweakCapabilities`)
 * applied to devenv's default set:
 * - privileged: every capability, whatever `add` and `drop` say;
 * - `ALL` in `add`: every capability except those in `drop` (this wins over `ALL` in `drop`);
 * - `ALL` in `drop`: exactly the capabilities in `add`;
 * - otherwise the defaults, minus `drop`, plus `add` (a capability both added and dropped ends up present).
 * Names in `add`/`drop` are validated even when privileged, so a typo never goes unnoticed.
 * Bounding, effective and permitted are the same set; inheritable and ambient stay empty, as Docker and Podman
 * do since CVE-2022-24769.
 */
export function resolveCapabilities(options: CapabilityOptions = {}): OciCapabilities {
  const add = (options.add ?? []).map(normalizeCapability);
  const drop = (options.drop ?? []).map(normalizeCapability);
  const chosen = new Set<CapabilityName>();
  const addAll = (names: readonly (CapabilityName | typeof ALL_CAPABILITIES)[]): void => {
    for (const name of names) if (name !== ALL_CAPABILITIES) chosen.add(name);
  };

  if (options.privileged === true) {
    addAll(LINUX_CAPABILITIES);
  } else if (add.includes(ALL_CAPABILITIES)) {
    addAll(LINUX_CAPABILITIES.filter((name) => !drop.includes(name)));
  } else if (drop.includes(ALL_CAPABILITIES)) {
    addAll(add);
  } else {
    addAll(DEFAULT_CAPABILITIES.filter((name) => !drop.includes(name)));
    addAll(add);
  }

  const set = LINUX_CAPABILITIES.filter((name) => chosen.has(name));
  return { bounding: set, effective: [...set], permitted: [...set], inheritable: [], ambient: [] };
}

function suggestCapability(name: string): CapabilityName | undefined {
  let best: CapabilityName | undefined;
  let bestDistance = 3; // suggest only close misspellings
  for (const candidate of LINUX_CAPABILITIES) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
