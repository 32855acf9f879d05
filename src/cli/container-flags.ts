import { NETWORK_FLAG_VALUES } from '../runtime/network/network-mode.js';
import type { ArgSpec } from './docker-args.js';

/** Global flags every command accepts (mirrors BaseCommand.baseFlags for the docker-style parsers). */
export const GLOBAL_ARG_SPECS: readonly ArgSpec[] = [
  { name: 'root', type: 'string', description: 'directory holding devenv images, containers and state (env: DEVENV_ROOT)', helpGroup: 'GLOBAL' },
  { name: 'json', type: 'boolean', description: 'print machine-readable JSON on stdout', helpGroup: 'GLOBAL' },
  { name: 'log-level', type: 'string', description: 'error, warn, info or debug', options: ['error', 'warn', 'info', 'debug'], default: 'warn', helpGroup: 'GLOBAL' },
  { name: 'help', type: 'boolean', description: 'show help' },
];

/** Flags shared by `container create` and `container run`, spelled as Docker and Podman users type them. */
export const CREATE_ARG_SPECS: readonly ArgSpec[] = [
  { name: 'rootfs', type: 'string', description: 'run from this root filesystem directory instead of an image' },
  { name: 'name', type: 'string', description: 'name of the container' },
  { name: 'label', short: 'l', type: 'multiple', description: 'set a label on the container (KEY=VALUE)' },
  { name: 'env', short: 'e', type: 'multiple', description: 'set an environment variable (KEY=VALUE, or KEY to pass the host value)' },
  { name: 'env-file', type: 'multiple', description: 'read environment variables from a file' },
  { name: 'volume', short: 'v', type: 'multiple', description: 'bind mount HOST:CONTAINER[:ro|rw]' },
  { name: 'mount', type: 'multiple', description: 'mount: type=bind,source=…,target=…[,readonly] or type=tmpfs,target=…' },
  { name: 'workdir', short: 'w', type: 'string', description: 'working directory inside the container' },
  { name: 'user', short: 'u', type: 'string', description: 'user[:group] (name or id) to run as' },
  { name: 'hostname', short: 'h', type: 'string', description: 'container host name' },
  { name: 'memory', short: 'm', type: 'string', description: 'memory limit (e.g. 512m, 2g)' },
  { name: 'cpus', type: 'string', description: 'number of CPUs (e.g. 1.5)' },
  { name: 'pids-limit', type: 'string', description: 'maximum number of processes' },
  { name: 'publish', short: 'p', type: 'multiple', description: 'forward a host port: [IP:]HOST_PORT:CONTAINER_PORT[/udp], or CONTAINER_PORT (same or next free host port)' },
  { name: 'auto-forward', type: 'boolean', description: 'forward every TCP port a process in the container starts listening on (same or next free host port)' },
  {
    name: 'network',
    aliases: ['net'],
    type: 'string',
    options: NETWORK_FLAG_VALUES,
    description: 'network mode: private (default: own network namespace with outbound access), host or none (bridge, slirp4netns, pasta mean private)',
  },
  { name: 'add-host', type: 'multiple', description: 'add NAME:IP to /etc/hosts (NAME:host-gateway: the host)' },
  { name: 'read-only', type: 'boolean', description: 'mount the root filesystem read-only' },
  { name: 'cap-add', type: 'multiple', description: 'add a Linux capability (or ALL)' },
  { name: 'cap-drop', type: 'multiple', description: 'drop a Linux capability (or ALL)' },
  { name: 'privileged', type: 'boolean', description: 'all capabilities, no seccomp filter, no masked paths' },
  { name: 'security-opt', type: 'multiple', description: 'seccomp=unconfined or no-new-privileges (apparmor=/label= are ignored)' },
  { name: 'userns', type: 'string', description: 'user namespace mode: keep-id maps your user to the same id inside' },
  { name: 'interactive', short: 'i', type: 'boolean', description: 'keep stdin open' },
  { name: 'tty', short: 't', type: 'boolean', description: 'allocate a pseudo-terminal' },
  { name: 'ulimit', type: 'multiple', description: 'resource limit: nofile=SOFT[:HARD], nproc=…, core=…' },
  { name: 'entrypoint', type: 'string', description: 'override the image entrypoint' },
  { name: 'pull', type: 'string', options: ['missing', 'always', 'never'], default: 'missing', description: 'pull the image: missing (default), always or never' },
];

export const RUN_ONLY_ARG_SPECS: readonly ArgSpec[] = [
  { name: 'rm', type: 'boolean', description: 'remove the container when it exits' },
  { name: 'detach', short: 'd', type: 'boolean', description: 'run in the background and print the container id' },
];

export const RUN_ARG_SPECS: readonly ArgSpec[] = [...CREATE_ARG_SPECS, ...RUN_ONLY_ARG_SPECS, ...GLOBAL_ARG_SPECS];
export const CREATE_ALL_ARG_SPECS: readonly ArgSpec[] = [...CREATE_ARG_SPECS, ...GLOBAL_ARG_SPECS];

export const EXEC_ARG_SPECS: readonly ArgSpec[] = [
  { name: 'interactive', short: 'i', type: 'boolean', description: 'keep stdin open' },
  { name: 'tty', short: 't', type: 'boolean', description: 'allocate a pseudo-terminal' },
  { name: 'detach', short: 'd', type: 'boolean', description: 'run the command in the background' },
  { name: 'env', short: 'e', type: 'multiple', description: 'set an environment variable' },
  { name: 'env-file', type: 'multiple', description: 'read environment variables from a file' },
  { name: 'user', short: 'u', type: 'string', description: 'user[:group] to run as' },
  { name: 'workdir', short: 'w', type: 'string', description: 'working directory inside the container' },
  { name: 'privileged', type: 'boolean', description: 'give the process all capabilities' },
  ...GLOBAL_ARG_SPECS,
];
