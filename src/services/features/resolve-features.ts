/**
 * devcontainer.json's `features` → the Features to install, in order: every reference resolved to content in the
 * cache (or a local folder), `dependsOn` pulled in recursively with their options, duplicates (same content, same
 * option values) merged, then ordered by install-order.ts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { DevenvError } from '../../errors.js';
import type { DevContainerConfig } from '../../devcontainer/config/config-types.js';
import { FEATURE_METADATA_FILE, parseFeatureMetadata } from '../../devcontainer/features/feature-metadata.js';
import { featureOptionValues } from '../../devcontainer/features/feature-options.js';
import { parseFeatureReference, sourceIdentity } from '../../devcontainer/features/feature-reference.js';
import type { FeatureOptionsInput, FeatureSource, ResolvedFeature } from '../../devcontainer/features/feature-types.js';
import { canonicalJson } from '../../devcontainer/features/fingerprint.js';
import { computeInstallOrder, type OrderNode } from '../../devcontainer/features/install-order.js';
import type { Lockfile } from '../../devcontainer/features/lockfile.js';
import { hashFeatureFolder } from './feature-cache.js';
import { fetchOciFeature, fetchTarballFeature, type FeatureFetchDeps } from './fetch-feature.js';

/** Input of resolveFeatures. */
export interface ResolveFeaturesInput {
  /** Absolute path of devcontainer.json (local Features are relative to its folder). */
  configFile: string;
  config: Pick<DevContainerConfig, 'features' | 'overrideFeatureInstallOrder'>;
  /** Pins: a locked reference is fetched by its digest (from the cache when there). */
  lockfile?: Lockfile;
}

/** The Features to install, and every reference that was resolved (for the lockfile). */
export interface ResolvedFeatures {
  /** In install order, one per distinct Feature. */
  ordered: ResolvedFeature[];
  /** Every reference met (written in devcontainer.json or in a dependsOn), first resolution of each. */
  all: ResolvedFeature[];
  warnings: string[];
}

interface Node extends OrderNode {
  feature: ResolvedFeature;
}

const MAX_FEATURES = 200;

async function fetchSource(source: FeatureSource, lockfile: Lockfile | undefined, deps: FeatureFetchDeps): Promise<{ dir: string; digest: string }> {
  switch (source.kind) {
    case 'oci': {
      const locked = lockfile?.features[source.written];
      const pinned = locked && locked.resolved.startsWith(`${source.resource}@`) ? locked.integrity : undefined;
      return fetchOciFeature(source, pinned, deps);
    }
    case 'tarball':
      return fetchTarballFeature(source, lockfile?.features[source.written]?.integrity, deps);
    case 'local': {
      if (!existsSync(source.path) || !statSync(source.path).isDirectory()) {
        throw new DevenvError('FEATURE_NOT_FOUND', `feature \`${source.written}\`: folder ${source.path} does not exist`, {
          hint: 'Local Features are folders relative to devcontainer.json, e.g. `./features/hello` for .devcontainer/features/hello.',
        });
      }
      if (!existsSync(join(source.path, FEATURE_METADATA_FILE)) || !existsSync(join(source.path, 'install.sh'))) {
        throw new DevenvError('FEATURE_INVALID', `feature \`${source.written}\`: ${source.path} needs a ${FEATURE_METADATA_FILE} and an install.sh`);
      }
      return { dir: source.path, digest: hashFeatureFolder(source.path) };
    }
  }
}

function softSources(refs: readonly string[], configDir: string, where: string, warnings: string[]): FeatureSource[] {
  const out: FeatureSource[] = [];
  for (const ref of refs) {
    try {
      out.push(parseFeatureReference(ref, configDir));
    } catch {
      warnings.push(`${where}: installsAfter \`${ref}\` is not a Feature reference devenv understands (ignored)`);
    }
  }
  return out;
}

/** Resolve, fetch (into the cache) and order a config's Features. */
export async function resolveFeatures(input: ResolveFeaturesInput, deps: FeatureFetchDeps): Promise<ResolvedFeatures> {
  const configDir = dirname(input.configFile);
  const warnings: string[] = [];
  const nodes = new Map<string, Node>();
  const all: ResolvedFeature[] = [];
  const seenRefs = new Set<string>();

  interface Work {
    written: string;
    options: FeatureOptionsInput;
    origin: ResolvedFeature['origin'];
    /** The node that depends on it. */
    parent?: Node;
  }
  const worklist: Work[] = Object.entries(input.config.features ?? {}).map(([written, options]) => ({
    written,
    options: (options ?? {}) as FeatureOptionsInput,
    origin: 'user' as const,
  }));

  while (worklist.length > 0) {
    const work = worklist.shift() as Work;
    if (nodes.size > MAX_FEATURES) {
      throw new DevenvError('FEATURE_INVALID', `more than ${MAX_FEATURES} Features after following dependsOn`, { hint: 'Check the Features for runaway dependsOn chains.' });
    }
    const source = parseFeatureReference(work.written, configDir);
    const where = `feature \`${work.written}\``;
    const { dir, digest } = await fetchSource(source, input.lockfile, deps);
    const metadata = parseFeatureMetadata(readFileSync(join(dir, FEATURE_METADATA_FILE), 'utf8'), where);
    const { values, warnings: optionWarnings } = featureOptionValues(metadata, work.options, where);
    warnings.push(...optionWarnings);
    if (metadata.deprecated) warnings.push(`${where}: this Feature is deprecated`);
    const feature: ResolvedFeature = { source, dir, metadata, digest, options: work.options, values, origin: work.origin };
    if (!seenRefs.has(work.written)) {
      seenRefs.add(work.written);
      all.push(feature);
    }
    const key = `${digest}\0${canonicalJson(values)}`;
    const existing = nodes.get(key);
    if (work.parent && !work.parent.dependsOn.includes(key)) work.parent.dependsOn.push(key);
    if (existing) continue;
    const tag = source.kind === 'oci' ? (source.ref.tag ?? source.ref.digest ?? '') : '';
    const node: Node = {
      key,
      label: work.written,
      source,
      aliases: [metadata.id, ...(metadata.legacyIds ?? [])],
      dependsOn: [],
      installsAfter: softSources(metadata.installsAfter ?? [], configDir, where, warnings),
      sortKey: `${sourceIdentity(source)}\0${tag}\0${canonicalJson(values)}`,
      feature,
    };
    nodes.set(key, node);
    for (const [dep, options] of Object.entries(metadata.dependsOn ?? {})) {
      worklist.push({ written: dep, options, origin: 'dependsOn', parent: node });
    }
  }

  const override = (input.config.overrideFeatureInstallOrder ?? []).map((ref) => parseFeatureReference(ref, configDir));
  const { order, warnings: orderWarnings } = computeInstallOrder([...nodes.values()], override);
  warnings.push(...orderWarnings);
  return { ordered: order.map((n) => n.feature), all, warnings };
}
