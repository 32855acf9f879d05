import { DevenvError } from '../../errors.js';

/**
 * What devcontainer.json's `runArgs` (Docker CLI flags for `docker run`) ask for, as devenv create options.
 * Values are as written (`memory: "4g"`); the create-options layer validates them. List fields keep runArgs order.
 */
export interface RunArgsOptions {
  env: string[];
  /** `--env-file` paths as written (Docker resolves them against its working directory). */
  envFiles: string[];
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  memory?: string;
  cpus?: string;
  hostname?: string;
  network?: string;
  user?: string;
  addHosts: string[];
  /** `-p` / `--publish` values as written (Docker syntax; the ports layer parses them). */
  publish: string[];
  devices: string[];
  privileged: boolean;
  init?: boolean;
  readOnly: boolean;
  name?: string;
  labels: string[];
  volumes: string[];
  mounts: string[];
  pidsLimit?: string;
  ulimits: string[];
  workdir?: string;
  userns?: string;
  shmSize?: string;
}

/** `translateRunArgs`'s result: the options, and one warning per ignored flag or word. */
export interface TranslatedRunArgs {
  options: RunArgsOptions;
  warnings: string[];
}

type ListField = 'env' | 'envFiles' | 'capAdd' | 'capDrop' | 'securityOpt' | 'addHosts' | 'publish' | 'devices' | 'labels' | 'volumes' | 'mounts' | 'ulimits';
type ValueField = 'memory' | 'cpus' | 'hostname' | 'network' | 'user' | 'name' | 'pidsLimit' | 'workdir' | 'userns' | 'shmSize';
type BoolField = 'privileged' | 'init' | 'readOnly';

type Supported = { kind: 'list'; field: ListField } | { kind: 'value'; field: ValueField } | { kind: 'bool'; field: BoolField };

/** The flags devenv translates, by long name (aliases included). */
const SUPPORTED: Record<string, Supported> = {
  env: { kind: 'list', field: 'env' },
  'env-file': { kind: 'list', field: 'envFiles' },
  'cap-add': { kind: 'list', field: 'capAdd' },
  'cap-drop': { kind: 'list', field: 'capDrop' },
  'security-opt': { kind: 'list', field: 'securityOpt' },
  'add-host': { kind: 'list', field: 'addHosts' },
  publish: { kind: 'list', field: 'publish' },
  device: { kind: 'list', field: 'devices' },
  label: { kind: 'list', field: 'labels' },
  volume: { kind: 'list', field: 'volumes' },
  mount: { kind: 'list', field: 'mounts' },
  ulimit: { kind: 'list', field: 'ulimits' },
  memory: { kind: 'value', field: 'memory' },
  cpus: { kind: 'value', field: 'cpus' },
  hostname: { kind: 'value', field: 'hostname' },
  network: { kind: 'value', field: 'network' },
  net: { kind: 'value', field: 'network' },
  user: { kind: 'value', field: 'user' },
  name: { kind: 'value', field: 'name' },
  'pids-limit': { kind: 'value', field: 'pidsLimit' },
  workdir: { kind: 'value', field: 'workdir' },
  userns: { kind: 'value', field: 'userns' },
  'shm-size': { kind: 'value', field: 'shmSize' },
  privileged: { kind: 'bool', field: 'privileged' },
  init: { kind: 'bool', field: 'init' },
  'read-only': { kind: 'bool', field: 'readOnly' },
};

/** Docker's one-letter flags, by the long name they stand for. */
const SHORT: Record<string, string> = {
  e: 'env',
  m: 'memory',
  h: 'hostname',
  u: 'user',
  l: 'label',
  v: 'volume',
  w: 'workdir',
  a: 'attach',
  c: 'cpu-shares',
  p: 'publish',
  d: 'detach',
  i: 'interactive',
  t: 'tty',
  P: 'publish-all',
  q: 'quiet',
};

/*
 * The value-taking flags of `docker run` (and the common Podman-only ones) that devenv does not translate: their
 * value is skipped with them, so `--gpus all` yields one warning and `all` is not misread.
 */
const UNSUPPORTED_VALUE_FLAGS = new Set([
  'annotation', 'attach', 'blkio-weight', 'blkio-weight-device', 'cgroup-parent', 'cgroupns', 'cidfile', 'cpu-count',
  'cpu-percent', 'cpu-period', 'cpu-quota', 'cpu-rt-period', 'cpu-rt-runtime', 'cpu-shares', 'cpuset-cpus', 'cpuset-mems',
  'detach-keys', 'device-cgroup-rule', 'device-read-bps', 'device-read-iops', 'device-write-bps', 'device-write-iops',
  'dns', 'dns-opt', 'dns-option', 'dns-search', 'domainname', 'entrypoint', 'expose', 'gpus', 'group-add', 'health-cmd',
  'health-interval', 'health-retries', 'health-start-interval', 'health-start-period', 'health-timeout',
  'io-maxbandwidth', 'io-maxiops', 'ip', 'ip6', 'ipc', 'isolation', 'kernel-memory', 'label-file', 'link',
  'link-local-ip', 'log-driver', 'log-opt', 'mac-address', 'memory-reservation', 'memory-swap', 'memory-swappiness',
  'net-alias', 'network-alias', 'oom-score-adj', 'pid', 'platform', 'pull', 'restart', 'runtime',
  'stop-signal', 'stop-timeout', 'storage-opt', 'sysctl', 'tmpfs', 'uts', 'volume-driver', 'volumes-from',
  // Podman
  'arch', 'authfile', 'cert-dir', 'cgroup-conf', 'cgroups', 'chrootdirs', 'conmon-pidfile', 'creds', 'decryption-key',
  'env-merge', 'gidmap', 'group-entry', 'hooks-dir', 'hostuser', 'image-volume', 'init-path', 'os', 'passwd-entry',
  'personality', 'pidfile', 'pod', 'pod-id-file', 'preserve-fd', 'preserve-fds', 'rdt-class', 'requires', 'retry',
  'retry-delay', 'sdnotify', 'seccomp-policy', 'secret', 'subgidname', 'subuidname', 'systemd', 'timeout', 'tz',
  'uidmap', 'umask', 'variant',
]);

/** Flags taking no value that devenv ignores (so the word after them is not taken for their value). */
const UNSUPPORTED_BOOL_FLAGS = new Set([
  'detach', 'disable-content-trust', 'help', 'interactive', 'no-healthcheck', 'oom-kill-disable', 'publish-all',
  'quiet', 'rm', 'sig-proxy', 'tty', 'use-api-socket',
  // Podman
  'env-host', 'http-proxy', 'no-hosts', 'passwd', 'read-only-tmpfs', 'replace', 'rootfs', 'tls-verify',
]);

const ADVICE: Record<string, string> = {
  'publish-all': 'use forwardPorts or appPort in devcontainer.json',
};

const TRUE_WORDS = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function emptyOptions(): RunArgsOptions {
  return {
    env: [],
    envFiles: [],
    capAdd: [],
    capDrop: [],
    securityOpt: [],
    addHosts: [],
    publish: [],
    devices: [],
    privileged: false,
    readOnly: false,
    labels: [],
    volumes: [],
    mounts: [],
    ulimits: [],
  };
}

function invalid(index: number, message: string, hint: string): DevenvError {
  return new DevenvError('CONFIG_INVALID', `runArgs[${index}]: ${message}`, { hint });
}

/** One flag occurrence: how it was written, its long name, and its inline value (`--x=v`, `-xv`) if any. */
interface FlagUse {
  shown: string;
  long: string;
  inline: string | undefined;
}

/**
 * Translate `runArgs` into create options. Both `--flag value` and `--flag=value`, short flags (`-e K=V`, `-eK=V`,
 * `-e=K=V`, bundles like `-it`) and booleans with `=true`/`=false` are read as Docker reads them. A supported flag
 * missing its value throws CONFIG_INVALID naming `runArgs[i]`; anything else devenv does not translate is ignored
 * with one warning (a known value-taking Docker flag is skipped together with its value).
 */
export function translateRunArgs(args: readonly string[]): TranslatedRunArgs {
  const options = emptyOptions();
  const warnings: string[] = [];
  const ignore = (shown: string, long: string): void => {
    const advice = ADVICE[long];
    warnings.push(`runArgs: \`${shown}\` is not supported by devenv and was ignored${advice ? ` (${advice})` : ''}`);
  };

  let i = 0;
  while (i < args.length) {
    const index = i;
    const word = args[i] as string;
    i += 1;
    if (typeof word !== 'string') {
      throw invalid(index, 'must be a string', 'runArgs is an array of strings, one flag or value each.');
    }

    const uses: FlagUse[] = [];
    if (word.startsWith('--') && word.length > 2) {
      const eq = word.indexOf('=');
      const long = eq === -1 ? word.slice(2) : word.slice(2, eq);
      uses.push({ shown: `--${long}`, long, inline: eq === -1 ? undefined : word.slice(eq + 1) });
    } else if (word.startsWith('-') && word.length > 1 && word !== '--') {
      // A bundle: boolean letters until one that takes a value, which takes the rest of the word (`-e=` allowed).
      for (let j = 1; j < word.length; j++) {
        const letter = word[j] as string;
        const long = SHORT[letter] ?? `-${letter}`;
        const takesValue = SUPPORTED[long]?.kind === 'list' || SUPPORTED[long]?.kind === 'value' || UNSUPPORTED_VALUE_FLAGS.has(long);
        const rest = word.slice(j + 1);
        if (takesValue && rest !== '') {
          uses.push({ shown: `-${letter}`, long, inline: rest.startsWith('=') ? rest.slice(1) : rest });
          break;
        }
        uses.push({ shown: `-${letter}`, long, inline: undefined });
      }
    } else {
      warnings.push(`runArgs: \`${word}\` is not a flag and was ignored`);
      continue;
    }

    for (const [position, use] of uses.entries()) {
      const isLast = position === uses.length - 1;
      const supported = SUPPORTED[use.long];
      if (supported?.kind === 'bool') {
        let value = true;
        if (use.inline !== undefined) {
          if (TRUE_WORDS.has(use.inline)) value = true;
          else if (FALSE_WORDS.has(use.inline)) value = false;
          else throw invalid(index, `\`${use.shown}\` takes true or false, not \`${use.inline}\``, `Write \`${use.shown}\` or \`${use.shown}=false\`.`);
        }
        options[supported.field] = value;
        continue;
      }
      if (supported) {
        let value = use.inline;
        if (value === undefined) {
          // A value-taking letter ends its bundle, so the flag is the last use and may take the next word.
          if (i >= args.length) {
            throw invalid(index, `\`${use.shown}\` needs a value`, `Put the value in the next runArgs element, or write \`${use.shown}=VALUE\`.`);
          }
          value = args[i] as string;
          i += 1;
        }
        if (supported.kind === 'list') options[supported.field].push(value);
        else options[supported.field] = value;
        continue;
      }
      ignore(use.shown, use.long);
      if (use.inline !== undefined || !isLast) continue;
      if (UNSUPPORTED_VALUE_FLAGS.has(use.long)) {
        if (i < args.length) i += 1;
      } else if (!UNSUPPORTED_BOOL_FLAGS.has(use.long) && i < args.length && !(args[i] as string).startsWith('-')) {
        // A flag Docker has no record of: a following non-flag word is most likely its value.
        i += 1;
      }
    }
  }
  return { options, warnings };
}
