/**
 * What `up` (and `build`) need to install a config's Features: resolve and fetch them (cache first), keep the
 * lockfile in step (or refuse drift when frozen), and write a build context with a generated Dockerfile for the
 * Dockerfile builder (`buildImage(ctx, { dockerfile: { text, name }, context, tags, … })`).
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

import { DevenvError, isErrnoCode } from '../../errors.js';
import type { DevContainerConfig, ImageMetadataEntry } from '../../devcontainer/config/config-types.js';
import { builtinEnvLines, featureEnvLines, homeFromPasswd, type FeatureUsers } from '../../devcontainer/features/feature-options.js';
import type { ResolvedFeature } from '../../devcontainer/features/feature-types.js';
import {
  BUILTIN_ENV_FILE,
  FEATURE_ENV_FILE,
  featureMetadataEntry,
  generateFeaturesDockerfile,
  INSTALL_WRAPPER,
  installWrapperScript,
  type FeatureBuildStep,
} from '../../devcontainer/features/features-dockerfile.js';
import { canonicalJson } from '../../devcontainer/features/fingerprint.js';
import { assertBaseImageNotDrifted, assertNoDrift, formatLockfile, lockFeatures, lockfilePath, parseLockfile, type Lockfile } from '../../devcontainer/features/lockfile.js';
import type { ImageConfig } from '../../image/types.js';
import { writeFileAtomic } from '../../host/atomic-file.js';
import { randomHex } from '../../host/random-id.js';
import type { ServiceContext } from '../service-context.js';
import { featureCachePaths } from './feature-cache.js';
import type { FeatureFetchDeps, FeatureRegistry } from './fetch-feature.js';
import { resolveFeatures, type ResolvedFeatures } from './resolve-features.js';

/** Where feature work reports. */
export interface FeaturesReporter {
  progress?(message: string): void;
  warn?(message: string): void;
}

/** Overridable outside world (tests). */
export interface FeaturesDepsOverrides {
  registry?: FeatureRegistry;
  fetch?: typeof fetch;
  env?: NodeJS.ProcessEnv;
}

/** Build the fetch dependencies of a store. */
export function featureFetchDeps(ctx: ServiceContext, reporter: FeaturesReporter = {}, overrides: FeaturesDepsOverrides = {}): FeatureFetchDeps {
  let registry: FeatureRegistry | undefined = overrides.registry;
  return {
    paths: featureCachePaths(ctx.root),
    registry: async () => {
      if (!registry) {
        const { createRegistryClient } = await import('../../image/registry/registry-client.js');
        registry = createRegistryClient({ logger: ctx.logger });
      }
      return registry;
    },
    fetch: overrides.fetch ?? ((input, init) => fetch(input, init)),
    env: overrides.env ?? process.env,
    warn: (m) => (reporter.warn ? reporter.warn(m) : ctx.logger.warn(m)),
    progress: (m) => (reporter.progress ? reporter.progress(m) : ctx.logger.info(m)),
  };
}

/** Read a config's lockfile; undefined when there is none. */
export function readLockfile(configFile: string): Lockfile | undefined {
  const file = lockfilePath(configFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return undefined;
    throw new DevenvError('LOCKFILE_INVALID', `read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  return parseLockfile(text, file);
}

/** How `up` treats the lockfile. */
export interface LockfileMode {
  /** Refuse any difference between the lockfile and what the config resolves to (`--frozen-lockfile`, `ci`). */
  frozen?: boolean;
  /** Write or update the lockfile (default true; never when frozen). */
  write?: boolean;
}

/** What happened to the lockfile. */
export interface LockfileOutcome {
  path: string;
  /** It was written (created or changed). */
  written: boolean;
}

/**
 * Compare resolved Features with the lockfile: frozen → LOCKFILE_DRIFT naming each Feature that differs;
 * otherwise write it when it changed (keeping devenv's own section), or create it when there are OCI or tarball
 * Features to lock.
 */
export function syncLockfile(configFile: string, config: Pick<DevContainerConfig, 'image'>, existing: Lockfile | undefined, resolved: readonly ResolvedFeature[], mode: LockfileMode): LockfileOutcome {
  const path = lockfilePath(configFile);
  const features = lockFeatures(resolved);
  if (mode.frozen) {
    assertNoDrift(path, existing, features);
    assertBaseImageNotDrifted(path, existing, config.image);
    return { path, written: false };
  }
  if (mode.write === false) return { path, written: false };
  if (!existing && Object.keys(features).length === 0) return { path, written: false }; // nothing to lock (local Features only)
  const next: Lockfile = { features, ...(existing?.devenv ? { devenv: existing.devenv } : {}) };
  const text = formatLockfile(next);
  if (existing && formatLockfile(existing) === text) return { path, written: false };
  writeFileAtomic(path, text);
  return { path, written: true };
}

/** Input of prepareFeaturesBuild. */
export interface PrepareFeaturesOptions {
  /** Absolute path of devcontainer.json, and the config (after local substitution). */
  configFile: string;
  config: DevContainerConfig;
  /** The image Features install onto: what FROM names (a reference the builder resolves), and its config. */
  baseImage: { reference: string; config: ImageConfig };
  /** The base image's /etc/passwd (for the users' homes); without it the build looks them up itself. */
  passwd?: string;
  /** containerUser/remoteUser (default: from the metadata, the config, then the image's USER, then root). */
  users?: FeatureUsers;
  lockfile?: LockfileMode;
  reporter?: FeaturesReporter;
  deps?: FeaturesDepsOverrides;
}

/** Everything the builder needs, and what `up` needs after it. */
export interface PreparedFeaturesBuild {
  dockerfileText: string;
  /** The name to give the Dockerfile in messages. */
  dockerfileName: string;
  /** The build context: one folder per Feature plus the built-in env file. */
  contextDir: string;
  /** Base image entries followed by one entry per Feature (install order); the config's entry is the caller's. */
  metadataEntries: ImageMetadataEntry[];
  /** The tag to build: derived from the base image, the Features and users, so an unchanged set reuses it. */
  tag: string;
  features: ResolvedFeature[];
  users: FeatureUsers;
  lockfile: LockfileOutcome;
  warnings: string[];
}

function lastSet(entries: ImageMetadataEntry[], key: 'containerUser' | 'remoteUser'): string | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const value = entries[i]?.[key];
    if (value) return value;
  }
  return undefined;
}

/** containerUser and remoteUser as the devcontainer CLI finds them, homes from passwd when given. */
export function featureUsersFor(entries: ImageMetadataEntry[], config: DevContainerConfig, image: ImageConfig, passwd: string | undefined): FeatureUsers {
  const all = [...entries, { containerUser: config.containerUser, remoteUser: config.remoteUser } as ImageMetadataEntry];
  const containerUser = lastSet(all, 'containerUser') || image.config?.User || 'root';
  const remoteUser = lastSet(all, 'remoteUser') || containerUser;
  const users: FeatureUsers = { containerUser, remoteUser };
  if (passwd !== undefined) {
    const c = homeFromPasswd(passwd, containerUser);
    const r = homeFromPasswd(passwd, remoteUser);
    if (c !== undefined) users.containerUserHome = c;
    if (r !== undefined) users.remoteUserHome = r;
  }
  return users;
}

function stepName(index: number, feature: ResolvedFeature): string {
  return `${String(index + 1).padStart(2, '0')}-${feature.metadata.id}`;
}

/** Write the build context into a private folder, then rename it into place (content-addressed: reused as is). */
function writeContext(buildsDir: string, hash: string, steps: FeatureBuildStep[], users: FeatureUsers): string {
  const final = join(buildsDir, hash);
  if (existsSync(join(final, BUILTIN_ENV_FILE))) return final;
  mkdirSync(buildsDir, { recursive: true });
  const tmp = join(buildsDir, `.tmp-${randomHex(8)}`);
  try {
    mkdirSync(tmp);
    writeFileSync(join(tmp, BUILTIN_ENV_FILE), `${builtinEnvLines(users).join('\n')}\n`);
    for (const { dirName, feature } of steps) {
      const dest = join(tmp, dirName);
      cpSync(feature.dir, dest, { recursive: true, verbatimSymlinks: true });
      const envLines = featureEnvLines(feature.values);
      writeFileSync(join(dest, FEATURE_ENV_FILE), `${envLines.join('\n')}\n`);
      writeFileSync(join(dest, INSTALL_WRAPPER), installWrapperScript(feature, envLines));
      chmodSync(join(dest, INSTALL_WRAPPER), 0o755);
    }
    rmSync(final, { recursive: true, force: true });
    try {
      renameSync(tmp, final);
    } catch (error) {
      if (!(isErrnoCode(error, 'ENOTEMPTY') || isErrnoCode(error, 'EEXIST'))) throw error;
    }
    return final;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Frozen: a Feature written in devcontainer.json but missing from the lockfile is drift, found before any fetch. */
function assertWrittenFeaturesLocked(configFile: string, config: Pick<DevContainerConfig, 'features'>, existing: Lockfile | undefined): void {
  const unlocked = Object.keys(config.features ?? {}).filter((ref) => !ref.startsWith('.') && !existing?.features[ref]);
  if (unlocked.length === 0) return;
  const file = lockfilePath(configFile);
  throw new DevenvError('LOCKFILE_DRIFT', `frozen lockfile: ${existing ? `${file} does not lock` : `${file} does not exist; it would lock`} ${unlocked.map((r) => `\`${r}\``).join(', ')}`, {
    hint: 'Run `devenv lock` (or `devenv up` without --frozen-lockfile) to update the lockfile, and commit it.',
  });
}

/** The Features of a config, resolved against its lockfile (pins), with the lockfile synced per `mode`. */
export async function resolveProjectFeatures(
  ctx: ServiceContext,
  options: Pick<PrepareFeaturesOptions, 'configFile' | 'config' | 'reporter' | 'deps'> & { lockfile?: LockfileMode; pins?: boolean },
): Promise<{ resolved: ResolvedFeatures; lockfile: LockfileOutcome; existing: Lockfile | undefined }> {
  const existing = readLockfile(options.configFile);
  if (options.lockfile?.frozen) assertWrittenFeaturesLocked(options.configFile, options.config, existing);
  const deps = featureFetchDeps(ctx, options.reporter, options.deps);
  const resolved = await resolveFeatures(
    { configFile: options.configFile, config: options.config, ...(existing && options.pins !== false ? { lockfile: existing } : {}) },
    deps,
  );
  const lockfile = syncLockfile(options.configFile, options.config, existing, resolved.all, options.lockfile ?? {});
  return { resolved, lockfile, existing };
}

/**
 * Resolve the config's Features and prepare their build: a context folder under `<root>/features/builds/`, the
 * Dockerfile text (FROM the base image, one COPY + RUN per Feature in order, ENV for their containerEnv, the
 * `devcontainer.metadata` label), the metadata entries and a content-derived tag. Undefined when the config has
 * no Features (use the base image as it is). The lockfile is checked or written per `options.lockfile`.
 */
export async function prepareFeaturesBuild(ctx: ServiceContext, options: PrepareFeaturesOptions): Promise<PreparedFeaturesBuild | undefined> {
  if (Object.keys(options.config.features ?? {}).length === 0) {
    syncLockfile(options.configFile, options.config, readLockfile(options.configFile), [], options.lockfile ?? {});
    return undefined;
  }
  const { resolved, lockfile } = await resolveProjectFeatures(ctx, options);
  const { parseImageMetadataLabel } = await import('../../devcontainer/config/merge-metadata.js');
  const baseEntries = parseImageMetadataLabel(options.baseImage.config.config?.Labels?.['devcontainer.metadata'], `image ${options.baseImage.reference}`);
  const featureEntries = resolved.ordered.map(featureMetadataEntry);
  const metadataEntries = [...baseEntries, ...featureEntries];
  const users = options.users ?? featureUsersFor(metadataEntries, options.config, options.baseImage.config, options.passwd);
  const steps = resolved.ordered.map((feature, index) => ({ dirName: stepName(index, feature), feature }));
  const homesKnown = users.containerUserHome !== undefined && users.remoteUserHome !== undefined;
  const dockerfileText = generateFeaturesDockerfile({
    baseImage: options.baseImage.reference,
    ...(options.baseImage.config.config?.User ? { imageUser: options.baseImage.config.config.User } : {}),
    steps,
    metadataLabel: JSON.stringify(metadataEntries),
    ...(homesKnown ? {} : { lookupHomes: { containerUser: users.containerUser, remoteUser: users.remoteUser } }),
  });
  const hash = createHash('sha256')
    .update(canonicalJson({ dockerfileText, users, features: steps.map((s) => ({ dir: s.dirName, digest: s.feature.digest, values: s.feature.values })) }))
    .digest('hex');
  const contextDir = writeContext(featureCachePaths(ctx.root).builds, hash.slice(0, 32), steps, users);
  return {
    dockerfileText,
    dockerfileName: 'Dockerfile.features (generated)',
    contextDir,
    metadataEntries,
    tag: `localhost/devenv-features:${hash.slice(0, 20)}`,
    features: resolved.ordered,
    users,
    lockfile,
    warnings: resolved.warnings,
  };
}
