/**
 * `devenv lock` and `devenv fingerprint`: pin a project's environment (Features by digest, the base image by
 * digest) in devcontainer-lock.json, and compute the one digest that identifies the fully resolved environment.
 */
import { readFileSync } from 'node:fs';

import { loadProject, resolveConfigPath, type LoadedProject } from '../../devcontainer/config/load-project.js';
import type { DevContainerConfig } from '../../devcontainer/config/config-types.js';
import { mergeConfiguration } from '../../devcontainer/config/merge-metadata.js';
import { parseConfigText } from '../../devcontainer/config/parse-config.js';
import { featureMetadataEntry } from '../../devcontainer/features/features-dockerfile.js';
import type { ResolvedFeature } from '../../devcontainer/features/feature-types.js';
import { computeFingerprint, fingerprintDocument, type FingerprintInput } from '../../devcontainer/features/fingerprint.js';
import { formatLockfile, lockFeatures, lockfilePath, type Lockfile } from '../../devcontainer/features/lockfile.js';
import { writeFileAtomic } from '../../host/atomic-file.js';
import type { ServiceContext } from '../service-context.js';
import { pinBaseImage, sha256Text, type BaseImageRegistry } from './base-image.js';
import { featureFetchDeps, readLockfile, type FeaturesDepsOverrides, type FeaturesReporter } from './prepare-features-build.js';
import { resolveFeatures } from './resolve-features.js';

/** Where a project is, as every project command takes it. */
export interface EnvironmentOptions {
  workspaceFolder: string;
  configFile?: string;
  hostEnv: NodeJS.ProcessEnv;
  reporter?: FeaturesReporter;
  deps?: FeaturesDepsOverrides & { imageRegistry?: BaseImageRegistry };
}

/** `devenv fingerprint`'s result. */
export interface FingerprintResult {
  fingerprint: string;
  configFile: string;
  /** The canonical document that was hashed (to compare two machines' inputs). */
  document: Record<string, unknown>;
  warnings: string[];
}

/** `devenv lock`'s result. */
export interface LockResult {
  lockfile: string;
  written: boolean;
  features: Array<{ reference: string; version: string; resolved: string; integrity: string }>;
  baseImage?: { reference: string; resolved: string };
  fingerprint: string;
  warnings: string[];
}

function load(options: EnvironmentOptions): LoadedProject {
  return loadProject({ workspaceFolder: options.workspaceFolder, hostEnv: options.hostEnv, ...(options.configFile ? { configFile: options.configFile } : {}) });
}

/** devcontainer.json as written, before any substitution: nothing of this machine (paths, env, ids) is in it. */
function rawConfig(project: LoadedProject): DevContainerConfig {
  return parseConfigText(project.configFile, project.configText).config;
}

/** The base image part of the fingerprint: the pinned digest, or for a Dockerfile config its text and arguments. */
function dockerfileBase(project: LoadedProject, raw: DevContainerConfig): unknown {
  const file = raw.build?.dockerfile ?? raw.dockerFile;
  const text = file ? readFileSync(resolveConfigPath(project, file), 'utf8') : '';
  return { dockerfile: sha256Text(text), args: raw.build?.args ?? {}, target: raw.build?.target ?? null };
}

function fingerprintInput(raw: DevContainerConfig, baseImage: unknown, ordered: ResolvedFeature[]): FingerprintInput {
  // The base image's own metadata label is covered by its digest, so it is not merged in: a pinned environment is
  // fingerprinted without reading the image.
  const merged = mergeConfiguration(raw, ordered.map(featureMetadataEntry));
  const features = ordered.map((f) => ({
    source: f.source.kind === 'oci' ? f.source.resource : f.source.kind === 'tarball' ? f.source.url : f.source.written,
    digest: f.digest,
    values: f.values,
  }));
  // Feature containerEnv is baked into the image (covered by the digests); the config's own fields that the merge
  // leaves out but that shape the container are added here.
  const config = { merged, runArgs: raw.runArgs ?? [], workspaceFolder: raw.workspaceFolder ?? null, workspaceMount: raw.workspaceMount ?? null };
  return { baseImage, features, config };
}

async function baseOf(
  ctx: ServiceContext,
  project: LoadedProject,
  raw: DevContainerConfig,
  options: EnvironmentOptions,
  lockfile: Lockfile | undefined,
  preferNetwork: boolean,
): Promise<{ fingerprint: unknown; pin?: { reference: string; resolved: string } }> {
  if (!project.config.image) return { fingerprint: dockerfileBase(project, raw) };
  const pinned = await pinBaseImage(ctx, project.config.image, {
    ...(lockfile ? { lockfile } : {}),
    preferNetwork,
    ...(options.deps?.imageRegistry ? { registry: options.deps.imageRegistry } : {}),
  });
  return { fingerprint: pinned.resolved, pin: { reference: pinned.reference, resolved: pinned.resolved } };
}

/**
 * The environment's fingerprint, from what the lockfile pins (Features and base image, no network needed when
 * they are cached or stored) or else what references resolve to now. Writes nothing.
 */
export async function fingerprintProject(ctx: ServiceContext, options: EnvironmentOptions): Promise<FingerprintResult> {
  const project = load(options);
  const raw = rawConfig(project);
  const lockfile = readLockfile(project.configFile);
  const deps = featureFetchDeps(ctx, options.reporter, options.deps);
  const resolved = await resolveFeatures({ configFile: project.configFile, config: project.config, ...(lockfile ? { lockfile } : {}) }, deps);
  const base = await baseOf(ctx, project, raw, options, lockfile, false);
  const input = fingerprintInput(raw, base.fingerprint, resolved.ordered);
  return { fingerprint: computeFingerprint(input), configFile: project.configFile, document: fingerprintDocument(input), warnings: [...project.warnings, ...resolved.warnings] };
}

/**
 * Resolve every Feature reference and the base image afresh and write devcontainer-lock.json: the CLI's
 * `features` plus devenv's `baseImage` pin and `fingerprint`.
 */
export async function lockEnvironment(ctx: ServiceContext, options: EnvironmentOptions): Promise<LockResult> {
  const project = load(options);
  const raw = rawConfig(project);
  const existing = readLockfile(project.configFile);
  const deps = featureFetchDeps(ctx, options.reporter, options.deps);
  const resolved = await resolveFeatures({ configFile: project.configFile, config: project.config }, deps);
  const base = await baseOf(ctx, project, raw, options, undefined, true);
  const fingerprint = computeFingerprint(fingerprintInput(raw, base.fingerprint, resolved.ordered));
  const features = lockFeatures(resolved.all);
  const next: Lockfile = { features, devenv: { ...(base.pin ? { baseImage: base.pin } : {}), fingerprint } };
  const path = lockfilePath(project.configFile);
  const text = formatLockfile(next);
  const written = !existing || formatLockfile(existing) !== text;
  if (written) writeFileAtomic(path, text);
  return {
    lockfile: path,
    written,
    features: Object.entries(features).map(([reference, f]) => ({ reference, version: f.version, resolved: f.resolved, integrity: f.integrity })),
    ...(base.pin ? { baseImage: base.pin } : {}),
    fingerprint,
    warnings: [...project.warnings, ...resolved.warnings],
  };
}
