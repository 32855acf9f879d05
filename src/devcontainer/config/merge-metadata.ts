import { DevenvError } from '../../errors.js';
import type {
  ContainerHookName,
  DevContainerConfig,
  HostRequirements,
  ImageMetadataEntry,
  LifecycleCommand,
  MergedConfig,
  MountObject,
} from './config-types.js';
import { parseHostSize } from './host-requirements.js';

/** The image config label holding dev container metadata (a JSON array of entries, or one entry). */
export const IMAGE_METADATA_LABEL = 'devcontainer.metadata';

/** userEnvProbe when no entry sets one (the devcontainer CLI's `--default-user-env-probe` default). */
export const DEFAULT_USER_ENV_PROBE = 'loginInteractiveShell';

/** Origin shown for hooks that come from devcontainer.json itself. */
export const CONFIG_ORIGIN = 'devcontainer.json';
/** Origin shown for hooks from an image's metadata entry that names no Feature. */
export const IMAGE_ORIGIN = 'image metadata';

const CONTAINER_HOOKS: readonly ContainerHookName[] = [
  'onCreateCommand',
  'updateContentCommand',
  'postCreateCommand',
  'postStartCommand',
  'postAttachCommand',
];

type FieldKind = 'boolean' | 'string' | 'strings' | 'object' | 'mounts' | 'ports' | 'command';

// Shallow type checks for label entries: a label is written by whoever built the image, so a `capAdd: "SYS_ADMIN"`
// must fail here, naming the field, rather than be spread into characters by the merge.
const ENTRY_FIELDS: Record<string, FieldKind> = {
  id: 'string',
  init: 'boolean',
  privileged: 'boolean',
  capAdd: 'strings',
  securityOpt: 'strings',
  entrypoint: 'string',
  mounts: 'mounts',
  customizations: 'object',
  containerEnv: 'object',
  remoteEnv: 'object',
  containerUser: 'string',
  remoteUser: 'string',
  updateRemoteUserUID: 'boolean',
  userEnvProbe: 'string',
  overrideCommand: 'boolean',
  shutdownAction: 'string',
  forwardPorts: 'ports',
  portsAttributes: 'object',
  otherPortsAttributes: 'object',
  hostRequirements: 'object',
  waitFor: 'string',
  onCreateCommand: 'command',
  updateContentCommand: 'command',
  postCreateCommand: 'command',
  postStartCommand: 'command',
  postAttachCommand: 'command',
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isCommand(value: unknown): boolean {
  if (typeof value === 'string' || isStringArray(value)) return true;
  return isPlainObject(value) && Object.values(value).every((item) => typeof item === 'string' || isStringArray(item));
}

function hasKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'strings':
      return isStringArray(value);
    case 'object':
      return isPlainObject(value);
    case 'mounts':
      return Array.isArray(value) && value.every((m) => typeof m === 'string' || (isPlainObject(m) && typeof m.target === 'string'));
    case 'ports':
      return Array.isArray(value) && value.every((p) => typeof p === 'string' || typeof p === 'number');
    case 'command':
      return isCommand(value);
  }
}

const KIND_TEXT: Record<FieldKind, string> = {
  boolean: 'true or false',
  string: 'a string',
  strings: 'an array of strings',
  object: 'an object',
  mounts: 'an array of mount strings or {type, source, target} objects',
  ports: 'an array of port numbers or strings',
  command: 'a string, an array of strings, or an object of those',
};

/**
 * Parse an image's `devcontainer.metadata` label. Missing or blank → no entries. Invalid JSON, a value that is
 * neither an object nor an array of objects, or a known field of the wrong type → CONFIG_INVALID naming the image
 * (`where`, e.g. "image `mcr.microsoft.com/devcontainers/base:ubuntu`"). Unknown fields are kept untouched.
 */
export function parseImageMetadataLabel(label: string | undefined, where: string): ImageMetadataEntry[] {
  if (label === undefined || label.trim() === '') return [];
  const hint = `The image's \`${IMAGE_METADATA_LABEL}\` label is broken; rebuild the image with a valid label or use another image.`;
  let value: unknown;
  try {
    value = JSON.parse(label);
  } catch (error) {
    const detail = error instanceof Error ? `: ${error.message}` : '';
    throw new DevenvError('CONFIG_INVALID', `${where}: label \`${IMAGE_METADATA_LABEL}\` is not valid JSON${detail}`, { hint, cause: error });
  }
  const entries = Array.isArray(value) ? value : [value];
  entries.forEach((entry, index) => {
    const at = Array.isArray(value) ? `${IMAGE_METADATA_LABEL}[${index}]` : IMAGE_METADATA_LABEL;
    if (!isPlainObject(entry)) {
      throw new DevenvError('CONFIG_INVALID', `${where}: label \`${at}\` is not an object`, { hint });
    }
    for (const [key, kind] of Object.entries(ENTRY_FIELDS)) {
      const field = entry[key];
      if (field !== undefined && field !== null && !hasKind(field, kind)) {
        throw new DevenvError('CONFIG_INVALID', `${where}: label \`${at}.${key}\` must be ${KIND_TEXT[kind]}`, { hint });
      }
    }
  });
  return entries as ImageMetadataEntry[];
}

/** Options of `mergeConfiguration`. */
export interface MergeOptions {
  /** userEnvProbe when no entry sets one (default loginInteractiveShell). */
  defaultUserEnvProbe?: MergedConfig['userEnvProbe'];
}

/** The devcontainer.json properties that take part in the merge (the spec's list; no `entrypoint`, no `id`). */
function configAsEntry(config: DevContainerConfig): ImageMetadataEntry {
  const picked: ImageMetadataEntry = {
    onCreateCommand: config.onCreateCommand,
    updateContentCommand: config.updateContentCommand,
    postCreateCommand: config.postCreateCommand,
    postStartCommand: config.postStartCommand,
    postAttachCommand: config.postAttachCommand,
    waitFor: config.waitFor,
    customizations: config.customizations,
    mounts: config.mounts,
    containerEnv: config.containerEnv,
    containerUser: config.containerUser,
    init: config.init,
    privileged: config.privileged,
    capAdd: config.capAdd,
    securityOpt: config.securityOpt,
    remoteUser: config.remoteUser,
    userEnvProbe: config.userEnvProbe,
    remoteEnv: config.remoteEnv,
    overrideCommand: config.overrideCommand,
    portsAttributes: config.portsAttributes,
    otherPortsAttributes: config.otherPortsAttributes,
    forwardPorts: config.forwardPorts,
    shutdownAction: config.shutdownAction,
    updateRemoteUserUID: config.updateRemoteUserUID,
    hostRequirements: config.hostRequirements,
  };
  return picked;
}

function union(lists: (string[] | undefined)[]): string[] {
  return [...new Set(lists.flatMap((list) => list ?? []))];
}

/** The last entry's value that `isSet` accepts. */
function lastSet<K extends keyof ImageMetadataEntry>(
  entries: ImageMetadataEntry[],
  key: K,
  isSet: (value: ImageMetadataEntry[K]) => boolean = (value) => value !== undefined && value !== null && value !== '',
): ImageMetadataEntry[K] | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const value = (entries[i] as ImageMetadataEntry)[key];
    if (isSet(value)) return value;
  }
  return undefined;
}

const MOUNT_TARGET_KEYS = new Set(['target', 'destination', 'dst']);

/** The target of a mount: the object's `target`, or the `target=`/`destination=`/`dst=` of a `--mount` string. */
export function mountTarget(mount: string | MountObject): string | undefined {
  if (typeof mount !== 'string') return mount.target;
  for (const part of mount.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && MOUNT_TARGET_KEYS.has(part.slice(0, eq).trim().toLowerCase())) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** All mounts in order; of several with the same target only the last is kept, at its own position. */
function mergeMounts(entries: ImageMetadataEntry[]): (string | MountObject)[] {
  const all = entries.flatMap((entry) => entry.mounts ?? []);
  const lastIndex = new Map<string, number>();
  all.forEach((mount, index) => {
    const target = mountTarget(mount);
    if (target !== undefined) lastIndex.set(target, index);
  });
  return all.filter((mount, index) => {
    const target = mountTarget(mount);
    return target === undefined || lastIndex.get(target) === index;
  });
}

const LOCALHOST_PORT = /^localhost:(\d+)$/;

/** Union in first-seen order; `3000` and `"localhost:3000"` are the same port (kept as the number). */
function mergeForwardPorts(entries: ImageMetadataEntry[]): (number | string)[] {
  const seen = new Set<string>();
  const ports: (number | string)[] = [];
  for (const port of entries.flatMap((entry) => entry.forwardPorts ?? [])) {
    const key = typeof port === 'number' ? `localhost:${port}` : port;
    if (seen.has(key)) continue;
    seen.add(key);
    const local = LOCALHOST_PORT.exec(key);
    ports.push(local ? Number(local[1]) : port);
  }
  return ports;
}

type GpuRequirement = HostRequirements['gpu'];

function gpuObject(gpu: GpuRequirement): { cores?: number; memory?: string } {
  return typeof gpu === 'object' ? gpu : {};
}

function mergeGpu(a: GpuRequirement, b: GpuRequirement): GpuRequirement {
  if (a === undefined || a === false) return b;
  if (b === undefined || b === false) return a;
  if (a === 'optional' && b === 'optional') return 'optional';
  const [ga, gb] = [gpuObject(a), gpuObject(b)];
  if (ga.cores === undefined && gb.cores === undefined && ga.memory === undefined && gb.memory === undefined) return true;
  const cores = Math.max(ga.cores ?? 0, gb.cores ?? 0);
  const memory = largestSize([ga.memory, gb.memory], 'hostRequirements.gpu.memory');
  return { ...(cores > 0 ? { cores } : {}), ...(memory !== undefined ? { memory } : {}) };
}

/** The largest of some size strings, kept as written (so messages and `config` output show the user's spelling). */
function largestSize(sizes: (string | undefined)[], field: string): string | undefined {
  let best: { text: string; bytes: number } | undefined;
  for (const text of sizes) {
    if (text === undefined) continue;
    const bytes = parseHostSize(text, field);
    if (bytes > 0 && (best === undefined || bytes > best.bytes)) best = { text, bytes };
  }
  return best?.text;
}

function mergeHostRequirements(entries: ImageMetadataEntry[]): HostRequirements | undefined {
  const reqs = entries.map((entry) => entry.hostRequirements).filter((req): req is HostRequirements => req !== undefined && req !== null);
  if (reqs.length === 0) return undefined;
  const cpus = Math.max(0, ...reqs.map((req) => req.cpus ?? 0));
  const memory = largestSize(reqs.map((req) => req.memory), 'hostRequirements.memory');
  const storage = largestSize(reqs.map((req) => req.storage), 'hostRequirements.storage');
  const gpu = reqs.map((req) => req.gpu).reduce<GpuRequirement>(mergeGpu, undefined);
  const merged: HostRequirements = {
    ...(cpus > 0 ? { cpus } : {}),
    ...(memory !== undefined ? { memory } : {}),
    ...(storage !== undefined ? { storage } : {}),
    ...(gpu !== undefined && gpu !== false ? { gpu } : {}),
  };
  return Object.keys(merged).length > 0 ? merged : undefined;
}

/**
 * Later maps win per key. Built with `Object.fromEntries`, which defines keys rather than assigning them, so a
 * label's `"__proto__"` key stays an ordinary key instead of replacing the result's prototype.
 */
function mergeMaps<V>(maps: (Record<string, V> | undefined)[]): Record<string, V> {
  return Object.fromEntries(new Map(maps.flatMap((map) => Object.entries(map ?? {}))));
}

function isRunnable(command: LifecycleCommand | undefined | null): command is LifecycleCommand {
  return command !== undefined && command !== null && command !== '';
}

function originOf(entry: ImageMetadataEntry, isConfig: boolean): string {
  if (isConfig) return CONFIG_ORIGIN;
  return entry.id ? `Feature \`${entry.id}\`` : IMAGE_ORIGIN;
}

/**
 * Merge image metadata entries (base image first, then Features, in install order) with devcontainer.json, which
 * counts as the last entry — the spec's "Merge logic" as the devcontainer CLI implements it:
 * booleans (init, privileged) or-ed; capAdd, securityOpt, forwardPorts unions; entrypoints and mounts collected
 * (a later mount on the same target replaces the earlier one); customizations collected per key; containerEnv,
 * remoteEnv, portsAttributes merged with later keys winning; single values (users, userEnvProbe, waitFor, …) taken
 * from the last entry setting them; hostRequirements the maximum of each; lifecycle commands collected in order.
 */
export function mergeConfiguration(config: DevContainerConfig, entries: ImageMetadataEntry[], options: MergeOptions = {}): MergedConfig {
  const all = [...entries, configAsEntry(config)];
  const isConfig = (index: number): boolean => index === all.length - 1;

  const customizations = new Map<string, unknown[]>();
  for (const entry of all) {
    for (const [key, value] of Object.entries(entry.customizations ?? {})) {
      if (value === undefined) continue;
      customizations.set(key, [...(customizations.get(key) ?? []), value]);
    }
  }

  const hooks = {} as Record<ContainerHookName, LifecycleCommand[]>;
  const hookOrigins = {} as Record<ContainerHookName, string[]>;
  for (const hook of CONTAINER_HOOKS) {
    hooks[hook] = [];
    hookOrigins[hook] = [];
    all.forEach((entry, index) => {
      const command = entry[hook];
      if (!isRunnable(command)) return;
      hooks[hook].push(command);
      hookOrigins[hook].push(originOf(entry, isConfig(index)));
    });
  }

  const isBoolean = (value: unknown): boolean => typeof value === 'boolean';
  const merged: MergedConfig = {
    init: all.some((entry) => entry.init === true),
    privileged: all.some((entry) => entry.privileged === true),
    capAdd: union(all.map((entry) => entry.capAdd)),
    securityOpt: union(all.map((entry) => entry.securityOpt)),
    entrypoints: all.map((entry) => entry.entrypoint).filter((e): e is string => typeof e === 'string' && e !== ''),
    mounts: mergeMounts(all),
    customizations: Object.fromEntries(customizations),
    containerEnv: mergeMaps(all.map((entry) => entry.containerEnv)),
    remoteEnv: mergeMaps(all.map((entry) => entry.remoteEnv)),
    containerUser: lastSet(all, 'containerUser'),
    remoteUser: lastSet(all, 'remoteUser'),
    updateRemoteUserUID: lastSet(all, 'updateRemoteUserUID', isBoolean),
    userEnvProbe: lastSet(all, 'userEnvProbe') ?? options.defaultUserEnvProbe ?? DEFAULT_USER_ENV_PROBE,
    overrideCommand: lastSet(all, 'overrideCommand', isBoolean),
    shutdownAction: lastSet(all, 'shutdownAction'),
    forwardPorts: mergeForwardPorts(all),
    portsAttributes: mergeMaps(all.map((entry) => entry.portsAttributes)),
    otherPortsAttributes: lastSet(all, 'otherPortsAttributes'),
    hostRequirements: mergeHostRequirements(all),
    waitFor: lastSet(all, 'waitFor'),
    onCreateCommands: hooks.onCreateCommand,
    updateContentCommands: hooks.updateContentCommand,
    postCreateCommands: hooks.postCreateCommand,
    postStartCommands: hooks.postStartCommand,
    postAttachCommands: hooks.postAttachCommand,
    hookOrigins,
  };
  // Drop unset optional fields so the result compares and serialises cleanly.
  for (const key of Object.keys(merged) as (keyof MergedConfig)[]) {
    if (merged[key] === undefined) delete merged[key];
  }
  return merged;
}
