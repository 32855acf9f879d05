import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import { DevenvError } from '../../errors.js';
import type { UserMount } from '../../runtime/spec.js';
import type { OciRlimit } from '../../runtime/oci-spec-types.js';
import type { PortsSpec } from '../../runtime/ports/port-spec.js';
import { checkVolumeName, newAnonymousVolumeName } from '../../volumes/volume-name.js';

/** `container create` / `run` options after flag parsing, before validation (values as the user typed them). */
export interface CreateContainerOptions {
  /** A root file system directory (--rootfs) … */
  rootfs?: string;
  /** … or an image reference, pulled when missing (like `docker run`). */
  image?: string;
  /**
   * … or explicit overlay lowerdirs, top-most first (image builds: a stage's unpacked layers). The caller holds the
   * image store lock so the layers stay; rootless they must be unpacked under the store's default mapping.
   */
  layers?: { lowerdirs: string[]; label: string };
  /** --entrypoint: replaces the image's entrypoint (and drops its Cmd, as Docker does). */
  entrypoint?: string;
  pull?: 'missing' | 'always' | 'never';
  name?: string;
  command: string[];
  env: string[];
  envFiles: string[];
  volumes: string[];
  mounts: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  /** --network as typed: private (default), host, none, or an alias (runtime/network/network-mode.ts). */
  network?: string;
  /** --add-host NAME:IP entries for /etc/hosts (`host-gateway` = the host). */
  addHosts?: string[];
  readOnly: boolean;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  userns?: string;
  interactive: boolean;
  tty: boolean;
  ulimits: string[];
  autoRemove: boolean;
  /** `--label KEY=VALUE` entries, already split. */
  labels?: Record<string, string>;
  /** `--security-opt` values: seccomp=unconfined, no-new-privileges; apparmor= and label= are accepted and ignored. */
  securityOpt?: string[];
  /** Mounts already resolved by the caller (`devenv up`: the workspace and `mounts` binds), after --volume/--mount. */
  extraMounts?: UserMount[];
  /**
   * Rootless: map the invoking user to this container user (name or uid) instead of to root, so files it makes
   * in bind mounts belong to the invoking user on the host (`devenv up` with a non-root remoteUser).
   */
  keepIdUser?: string;
  /** `-p` / `--publish` values: `[IP:]HOST:CONTAINER[/udp]`, `CONTAINER[/udp]` (src/runtime/ports/port-spec.ts). */
  publish?: string[];
  /** `--auto-forward`: forward the TCP ports processes in the container start listening on. */
  autoForward?: boolean;
  /** Forwards and automatic forwarding computed by the caller (`devenv up`: portsSpecFor), after `publish`. */
  ports?: PortsSpec;
}

/** `--label KEY=VALUE` (or KEY alone, an empty value), as Docker does. */
export function parseLabelFlags(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const key = eq === -1 ? value : value.slice(0, eq);
    if (!key) throw new DevenvError('USAGE', `invalid --label value \`${value}\`: expected KEY=VALUE`);
    labels[key] = eq === -1 ? '' : value.slice(eq + 1);
  }
  return labels;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `-e K=V` / `-e K` (value from the host, skipped when unset), as Docker does. */
export function parseEnvFlag(value: string, hostEnv: NodeJS.ProcessEnv): string | undefined {
  const eq = value.indexOf('=');
  const name = eq === -1 ? value : value.slice(0, eq);
  if (!name || /[\s]/.test(name)) throw new DevenvError('USAGE', `invalid -e value \`${value}\`: expected KEY=VALUE or KEY`);
  if (eq !== -1) return value;
  const host = hostEnv[name];
  return host === undefined ? undefined : `${name}=${host}`;
}

/** Docker's env-file format: KEY=VALUE lines, `#` comments, KEY alone takes the host's value. */
export function parseEnvFile(path: string, text: string, hostEnv: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const eq = line.indexOf('=');
    const name = (eq === -1 ? line : line.slice(0, eq)).trim();
    if (!ENV_NAME.test(name)) {
      throw new DevenvError('USAGE', `${path}:${index + 1}: \`${name}\` is not a valid variable name`, {
        hint: 'Each line must be KEY=VALUE (or KEY to pass the host value); comments start with #.',
      });
    }
    if (eq !== -1) out.push(`${name}=${line.slice(eq + 1)}`);
    else if (hostEnv[name] !== undefined) out.push(`${name}=${hostEnv[name]}`);
  });
  return out;
}

export function readEnvFiles(paths: string[], hostEnv: NodeJS.ProcessEnv): string[] {
  return paths.flatMap((p) => {
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch {
      throw new DevenvError('USAGE', `--env-file \`${p}\` cannot be read`, { hint: 'Check the path.' });
    }
    return parseEnvFile(p, text, hostEnv);
  });
}

function checkTarget(target: string, flag: string): string {
  if (!isAbsolute(target)) throw new DevenvError('USAGE', `${flag}: container path \`${target}\` must be absolute`);
  return target;
}

function checkSource(source: string, flag: string): string {
  if (!isAbsolute(source)) {
    throw new DevenvError('USAGE', `${flag}: \`${source}\` is not an absolute host path`, {
      hint: 'Use an absolute host path (or ./path); for a volume, `--mount type=volume,source=NAME,target=…` or `-v NAME:/path`.',
    });
  }
  if (!existsSync(source)) {
    throw new DevenvError('USAGE', `${flag}: bind mount source \`${source}\` does not exist`, { hint: 'Create it first.' });
  }
  return source;
}

/**
 * `-v HOST:CONTAINER[:OPTS]` (a bind mount), `-v NAME:CONTAINER[:OPTS]` (the volume NAME, made on first use) or
 * `-v CONTAINER` (a new anonymous volume), as Docker reads them. HOST is absolute or starts with `.` (relative to
 * here, as Podman allows); anything else is a volume name. OPTS: ro, rw, z, Z, and nocopy for volumes (accepted:
 * devenv never copies image content into a volume). Volume mounts come back without a source: create fills it in
 * (src/services/container/create-volumes.ts). Anonymous volumes get a new random name here.
 */
export function parseVolumeFlag(value: string): UserMount {
  const parts = value.split(':');
  if (parts.length === 1 && isAbsolute(value)) {
    return { type: 'bind', target: value, readonly: false, volume: { name: newAnonymousVolumeName(), anonymous: true } };
  }
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
    throw new DevenvError('USAGE', `invalid -v value \`${value}\`: expected HOST:CONTAINER[:ro|rw], VOLUME:CONTAINER[:ro|rw] or CONTAINER`);
  }
  const opts = (parts[2] ?? 'rw').split(',');
  for (const o of opts) {
    if (!['ro', 'rw', 'z', 'Z', 'nocopy'].includes(o)) throw new DevenvError('USAGE', `invalid -v option \`${o}\` in \`${value}\`: use ro or rw`);
  }
  const readonly = opts.includes('ro');
  const target = checkTarget(parts[1], '-v');
  const first = parts[0];
  if (!first.startsWith('/') && !first.startsWith('.')) {
    return { type: 'bind', target, readonly, volume: { name: checkVolumeName(first, `-v \`${value}\``), anonymous: false } };
  }
  if (opts.includes('nocopy')) throw new DevenvError('USAGE', `invalid -v option \`nocopy\` in \`${value}\`: it applies to volumes, not host paths`);
  const source = first.startsWith('.') ? resolve(first) : first;
  return { type: 'bind', source: checkSource(source, '-v'), target, readonly };
}

/** Volume options devenv cannot honour: refused rather than silently dropped. */
const UNSUPPORTED_VOLUME_FIELDS = ['volume-opt', 'volume-label', 'volume-subpath'];

/** `type=volume[,source=NAME][,volume-driver=local][,volume-nocopy]`: no source makes an anonymous volume. */
function volumeMount(value: string, fields: Map<string, string>, target: string, readonly: boolean): UserMount {
  for (const field of UNSUPPORTED_VOLUME_FIELDS) {
    if (fields.has(field)) {
      throw new DevenvError('USAGE', `--mount \`${value}\`: ${field} is not supported`, {
        hint: 'devenv volumes are local directories: make one with `devenv volume create NAME [--label K=V]` and mount it by name.',
      });
    }
  }
  const driver = fields.get('volume-driver');
  if (driver !== undefined && driver !== 'local') throw new DevenvError('USAGE', `--mount \`${value}\`: volume driver \`${driver}\` is not supported; only local`);
  // volume-nocopy is accepted as is: devenv never copies image content into a new volume (docs/volumes.md).
  const source = fields.get('source') ?? fields.get('src') ?? '';
  if (source === '') return { type: 'bind', target, readonly, volume: { name: newAnonymousVolumeName(), anonymous: true } };
  if (source.startsWith('/') || source.startsWith('.')) {
    throw new DevenvError('USAGE', `--mount \`${value}\`: type=volume takes a volume name, not the path \`${source}\``, {
      hint: `For a host directory use \`--mount type=bind,source=${source},target=${target}\`.`,
    });
  }
  return { type: 'bind', target, readonly, volume: { name: checkVolumeName(source, `--mount \`${value}\``), anonymous: false } };
}

/**
 * `--mount type=bind,source=…,target=…[,readonly]`, `type=volume[,source=NAME],target=…[,readonly]` or
 * `type=tmpfs,target=…`. Volume mounts come back without a source, as from parseVolumeFlag.
 */
export function parseMountFlag(value: string): UserMount {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    fields.set(eq === -1 ? part : part.slice(0, eq), eq === -1 ? 'true' : part.slice(eq + 1));
  }
  const type = fields.get('type') ?? 'bind';
  const target = fields.get('target') ?? fields.get('destination') ?? fields.get('dst');
  if (!target) throw new DevenvError('USAGE', `--mount \`${value}\`: missing target=`);
  const readonly = ['true', '1'].includes(fields.get('readonly') ?? fields.get('ro') ?? 'false');
  if (type === 'tmpfs') return { type: 'tmpfs', target: checkTarget(target, '--mount'), readonly };
  if (type === 'volume') return volumeMount(value, fields, checkTarget(target, '--mount'), readonly);
  if (type !== 'bind') throw new DevenvError('USAGE', `--mount \`${value}\`: type \`${type}\` is not supported; use bind, volume or tmpfs`);
  const source = fields.get('source') ?? fields.get('src');
  if (!source) throw new DevenvError('USAGE', `--mount \`${value}\`: missing source=`);
  return { type: 'bind', source: checkSource(source, '--mount'), target: checkTarget(target, '--mount'), readonly };
}

const RLIMITS: Record<string, string> = {
  nofile: 'RLIMIT_NOFILE', nproc: 'RLIMIT_NPROC', core: 'RLIMIT_CORE', memlock: 'RLIMIT_MEMLOCK', stack: 'RLIMIT_STACK',
  fsize: 'RLIMIT_FSIZE', cpu: 'RLIMIT_CPU', as: 'RLIMIT_AS', locks: 'RLIMIT_LOCKS', sigpending: 'RLIMIT_SIGPENDING',
  msgqueue: 'RLIMIT_MSGQUEUE', nice: 'RLIMIT_NICE', rtprio: 'RLIMIT_RTPRIO', data: 'RLIMIT_DATA', rss: 'RLIMIT_RSS',
};

/** `--ulimit nofile=1024[:2048]` (-1 or unlimited for no limit). */
export function parseUlimitFlag(value: string): OciRlimit {
  const m = /^([a-z]+)=(-?\d+|unlimited)(?::(-?\d+|unlimited))?$/.exec(value);
  const type = m ? RLIMITS[m[1] as string] : undefined;
  if (!m || !type) {
    throw new DevenvError('USAGE', `invalid --ulimit value \`${value}\``, {
      hint: `Use NAME=SOFT[:HARD] with NAME one of ${Object.keys(RLIMITS).join(', ')}.`,
    });
  }
  // -1 is RLIM_INFINITY in config.json (the runtime's JSON parser has no unsigned 64-bit integers).
  const num = (s: string): number => (s === 'unlimited' || s === '-1' ? -1 : Number(s));
  const soft = num(m[2] as string);
  const hard = m[3] === undefined ? soft : num(m[3]);
  if (hard !== -1 && (soft === -1 || soft > hard)) throw new DevenvError('USAGE', `invalid --ulimit value \`${value}\`: soft limit above hard limit`);
  return { type, soft, hard };
}

export function parsePidsLimit(value: string): number {
  if (!/^-?\d+$/.test(value) || Number(value) === 0 || Number(value) < -1) {
    throw new DevenvError('USAGE', `invalid --pids-limit value \`${value}\`: use a positive number (or -1 for no limit)`);
  }
  return Number(value);
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function checkContainerName(name: string): string {
  if (!NAME.test(name) || name.length > 128) {
    throw new DevenvError('USAGE', `invalid container name \`${name}\`: use letters, digits, '_', '.' and '-', starting with a letter or digit`);
  }
  return name;
}

export function checkRootfs(path: string): string {
  const abs = resolve(path);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    throw new DevenvError('ROOTFS_INVALID', `rootfs \`${abs}\` does not exist`, { hint: 'Pass a directory that holds a root file system (with /bin, /etc …).' });
  }
  if (!isDir) throw new DevenvError('ROOTFS_INVALID', `rootfs \`${abs}\` is not a directory`);
  return abs;
}
