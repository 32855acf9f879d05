import { accessSync, constants, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, posix } from 'node:path';

import { DevenvError } from '../../errors.js';
import { randomHex } from '../../host/random-id.js';
import { parseMemorySize } from '../../runtime/cgroups/memory-size.js';
import { parseCpus } from '../../runtime/cgroups/cpu-quota.js';
import { assertLimitsSupported } from '../../runtime/cgroups/cgroup-fs.js';
import { openCgroupManager } from '../../runtime/cgroups/open-cgroup-manager.js';
import { claimName, createBundle, isNameTaken, listIncompleteBundles, releaseName, type ContainerRecord } from '../../runtime/container-store.js';
import { readRootfsFile, resolveContainerUser } from '../../runtime/container-user.js';
import { computeIdMappings, parseSubIdFile, rangesForUser } from '../../runtime/idmap.js';
import { resolveCapabilities } from '../../runtime/security/capabilities.js';
import { defaultMaskedPaths, defaultReadonlyPaths, findThermalThrottlePaths } from '../../runtime/security/masked-paths.js';
import { defaultSeccompProfile } from '../../runtime/security/seccomp-profile.js';
import { createPortsSpec } from '../../runtime/ports/port-spec.js';
import { networkFiles, type NetworkFileName } from '../../runtime/network/network-files.js';
import { DEFAULT_NETWORK_MODE, parseAddHost, parseNetworkMode } from '../../runtime/network/network-mode.js';
import type { ImageConfig } from '../../image/types.js';
import { lowerdirsForMapping } from '../image/mapped-layers.js';
import { withResolvedImage } from '../image/resolve-image.js';
import type { PullProgressEvent } from '../image/pull.js';
import type { ServiceContext } from '../service-context.js';
import {
  checkContainerName,
  checkRootfs,
  parseEnvFlag,
  parseMountFlag,
  parsePidsLimit,
  parseUlimitFlag,
  parseVolumeFlag,
  readEnvFiles,
  type CreateContainerOptions,
} from './create-options.js';
import { generateContainerName } from './container-names.js';
import { parseSecurityOpts } from './security-opt.js';
import { withContainerVolumes } from './create-volumes.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function findTool(name: string): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/bin', '/usr/sbin'])) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // keep looking
    }
  }
  return '';
}

/** A host file the container's network files start from ('' when unreadable). */
function readHostFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function readSubIds(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Merge env lists: later entries override earlier ones with the same name, order of first appearance kept. */
export function mergeEnv(...lists: string[][]): string[] {
  const map = new Map<string, string>();
  for (const list of lists) {
    for (const entry of list) {
      const eq = entry.indexOf('=');
      map.set(eq === -1 ? entry : entry.slice(0, eq), entry);
    }
  }
  return [...map.values()];
}

/** Where a container's root file system comes from: a directory, or an image's unpacked layers. */
interface RootfsSource {
  lowerdirs: string[];
  /** What `ls` shows: the directory or the image reference. */
  label: string;
  image?: ContainerRecord['image'];
  config?: ImageConfig['config'];
}

/** Docker's rule: ENTRYPOINT + (the given command, or the image's CMD); --entrypoint drops the image's CMD. */
export function containerCommand(options: Pick<CreateContainerOptions, 'command' | 'entrypoint'>, config?: ImageConfig['config']): string[] {
  const entrypoint = options.entrypoint !== undefined ? (options.entrypoint === '' ? [] : [options.entrypoint]) : (config?.Entrypoint ?? []);
  const cmd = options.command.length > 0 ? options.command : options.entrypoint !== undefined ? [] : (config?.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new DevenvError('USAGE', 'no command given and the image defines none', {
      hint: 'Say what to run, e.g. `devenv container run IMAGE sh` (with --rootfs: `--rootfs DIR sh`).',
    });
  }
  return args;
}

/** Half-made bundles of a devenv killed during create: only ever plain files of ours, safe to delete. */
function removeStaleBundles(root: string): void {
  for (const dir of listIncompleteBundles(root)) {
    try {
      if (Date.now() - statSync(dir).mtimeMs > 60_000) rmSync(dir, { recursive: true, force: true });
    } catch {
      // another create finished or removed it meanwhile
    }
  }
}

/**
 * Validate everything and write a new container bundle. Nothing is created when any option is wrong: the
 * checks all run before the bundle appears (atomically) in the store.
 */
export async function createContainer(ctx: ServiceContext, options: CreateContainerOptions, hooks: CreateHooks = {}): Promise<ContainerRecord> {
  if (options.rootfs !== undefined) {
    const rootfs = checkRootfs(options.rootfs);
    return createWithSource(ctx, options, { lowerdirs: [rootfs], label: rootfs });
  }
  if (options.layers !== undefined) return createWithSource(ctx, options, { lowerdirs: options.layers.lowerdirs, label: options.layers.label });
  if (options.image === undefined) {
    throw new DevenvError('USAGE', 'no image given', { hint: 'Usage: devenv container run [FLAGS] IMAGE [COMMAND [ARG…]] (or --rootfs DIR COMMAND)' });
  }
  // The image store's shared lock is held until the record naming the image exists, so a prune cannot take its
  // layers away in between.
  const resolveOptions = { pull: options.pull ?? 'missing', ...(hooks.onPullProgress ? { onProgress: hooks.onPullProgress } : {}) } as const;
  return withResolvedImage(ctx, options.image, resolveOptions, (resolved) =>
    createWithSource(ctx, options, {
      lowerdirs: resolved.lowerdirs,
      label: resolved.reference,
      image: { reference: resolved.reference, manifestDigest: resolved.manifestDigest, configDigest: resolved.configDigest, chainIds: resolved.chainIds },
      ...(resolved.config.config ? { config: resolved.config.config } : {}),
    }),
  );
}

/** What the caller of createContainer may observe. */
export interface CreateHooks {
  /** Progress of an implicit pull (only called when the image must be fetched). */
  onPullProgress?: (event: PullProgressEvent) => void;
}

async function createWithSource(ctx: ServiceContext, options: CreateContainerOptions, source: RootfsSource): Promise<ContainerRecord> {
  const command = containerCommand(options, source.config);
  const env = process.env;
  const userEnv = [
    ...readEnvFiles(options.envFiles, env),
    ...options.env.map((e) => parseEnvFlag(e, env)).filter((e): e is string => e !== undefined),
  ];
  const mounts = [...options.volumes.map(parseVolumeFlag), ...options.mounts.map(parseMountFlag), ...(options.extraMounts ?? [])];
  const security = parseSecurityOpts(options.securityOpt ?? []);
  const rlimits = options.ulimits.map(parseUlimitFlag);
  const network = parseNetworkMode(options.network ?? DEFAULT_NETWORK_MODE);
  const extraHosts = (options.addHosts ?? []).map(parseAddHost);
  const slirp4netns = network === 'private' ? findTool('slirp4netns') : '';
  if (network === 'private' && slirp4netns === '') {
    throw new DevenvError('NETWORK_SETUP', 'private networking needs slirp4netns, which is not installed', {
      hint: 'Install it (`sudo apt-get install slirp4netns`), or run with `--network host` (the host\'s network) or `--network none`.',
    });
  }
  const ports = createPortsSpec({ ...options, network });
  const limits = {
    ...(options.memory !== undefined ? { memoryBytes: parseMemorySize(options.memory) } : {}),
    ...(options.cpus !== undefined ? { cpus: parseCpus(options.cpus) } : {}),
    ...(options.pidsLimit !== undefined && parsePidsLimit(options.pidsLimit) > 0 ? { pidsLimit: parsePidsLimit(options.pidsLimit) } : {}),
  };
  if (options.userns !== undefined && options.userns !== 'keep-id' && options.userns !== '') {
    throw new DevenvError('USAGE', `invalid --userns value \`${options.userns}\`: only keep-id is supported`);
  }
  if (options.workdir !== undefined && !posix.isAbsolute(options.workdir)) {
    throw new DevenvError('USAGE', `invalid --workdir \`${options.workdir}\`: it must be an absolute path`);
  }

  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const rootless = uid !== 0;
  const files = { passwd: readRootfsFile(source.lowerdirs, 'etc/passwd'), group: readRootfsFile(source.lowerdirs, 'etc/group') };
  // `devenv up` rootless with a non-root remoteUser: that user's ids become the invoking user's (keep-id with a target).
  const keepIdTarget = rootless && options.keepIdUser !== undefined ? resolveContainerUser(options.keepIdUser, files) : undefined;
  const keepId = options.userns === 'keep-id' || (keepIdTarget !== undefined && keepIdTarget.uid !== 0);
  const hostUser = (() => {
    try {
      return userInfo().username;
    } catch {
      return String(uid);
    }
  })();

  // Cgroups: check now that the asked-for limits can be applied, so a bad request creates nothing.
  const cgroups = openCgroupManager();
  assertLimitsSupported(cgroups.setup, options.name ?? 'new', limits);
  const unusable = cgroups.setup.controllers.filter((c) => !c.usable);

  const idMappings =
    !rootless && options.privileged
      ? null
      : computeIdMappings({
          mode: keepId ? 'keep-id' : 'default',
          ...(keepIdTarget && keepIdTarget.uid !== 0 ? { keepIdUid: keepIdTarget.uid, keepIdGid: keepIdTarget.gid } : {}),
          uid,
          gid,
          rootless,
          user: hostUser,
          subuids: rangesForUser(parseSubIdFile(readSubIds('/etc/subuid')), { name: hostUser, uid }),
          subgids: rangesForUser(parseSubIdFile(readSubIds('/etc/subgid')), { name: hostUser, uid }),
        });
  // Rootless, image layers are unpacked for the default mapping; another one (keep-id) gets its own copy of them.
  const lowerdirs = source.image ? await lowerdirsForMapping(ctx, { ...source.image, lowerdirs: source.lowerdirs }, idMappings) : source.lowerdirs;
  const user = resolveContainerUser(options.user ?? (options.userns === 'keep-id' ? `${uid}:${gid}` : source.config?.User || undefined), files);

  const id = randomHex(32);
  const capabilities = resolveCapabilities({ add: options.capAdd, drop: options.capDrop, privileged: options.privileged });
  const hostname = options.hostname ?? id.slice(0, 12);
  const imageEnv = source.config?.Env ?? [];
  const baseEnv = mergeEnv(
    [`PATH=${DEFAULT_PATH}`],
    imageEnv,
    [`HOSTNAME=${hostname}`],
    imageEnv.some((e) => e.startsWith('HOME=')) ? [] : [`HOME=${user.home}`],
    options.tty ? ['TERM=xterm'] : [],
  );

  const thermalThrottlePaths = options.privileged ? [] : await findThermalThrottlePaths();
  const warnings: string[] = [...ports.warnings];
  if (unusable.length > 0) ctx.logger.debug(`cgroup controllers not usable here: ${unusable.map((c) => c.controller).join(', ')}`);

  const dir = join(ctx.root, 'containers');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  removeStaleBundles(ctx.root);
  const name = options.name !== undefined ? checkContainerName(options.name) : generateContainerName((n) => isNameTaken(ctx.root, n));
  claimName(ctx.root, name, id);
  try {
    const files = networkFiles({ mode: network, hostname, hostResolvConf: readHostFile('/etc/resolv.conf'), hostHosts: readHostFile('/etc/hosts'), extraHosts });
    const record: ContainerRecord = {
      id,
      name,
      created: new Date().toISOString(),
      rootfs: source.label,
      ...(source.image ? { image: source.image } : {}),
      command,
      ...(options.labels && Object.keys(options.labels).length > 0 ? { labels: options.labels } : {}),
      limits,
      autoRemove: options.autoRemove,
      warnings,
      spec: {
        id,
        bundleDir: join(dir, id),
        hostname,
        rootfs: { driver: 'overlay', lowerdirs },
        args: command,
        env: mergeEnv(baseEnv, userEnv),
        cwd: options.workdir ?? (source.config?.WorkingDir || '/'),
        user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
        terminal: options.tty,
        stdin: options.interactive,
        mounts,
        network,
        networkFiles: Object.keys(files) as NetworkFileName[],
        readOnly: options.readOnly,
        privileged: options.privileged,
        capabilities,
        seccomp: options.privileged || security.seccompUnconfined ? null : defaultSeccompProfile(capabilities.bounding),
        maskedPaths: options.privileged ? [] : defaultMaskedPaths({ thermalThrottlePaths }),
        readonlyPaths: options.privileged ? [] : defaultReadonlyPaths(),
        idMappings,
        rootless,
        resources: limits,
        rlimits,
        autoRemove: options.autoRemove,
        tools: { newuidmap: findTool('newuidmap'), newgidmap: findTool('newgidmap'), fuseOverlayfs: findTool('fuse-overlayfs'), ...(slirp4netns ? { slirp4netns } : {}) },
        ...(ports.spec ? { ports: ports.spec } : {}),
      },
    };
    await withContainerVolumes(ctx, record, () => createBundle(ctx.root, record, files));
    return record;
  } catch (error) {
    releaseName(ctx.root, name, id);
    throw error;
  }
}
