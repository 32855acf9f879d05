/**
 * `devcontainer-lock.json` in the devcontainer CLI's format, plus one devenv-only key the CLI ignores when it
 * reads the file:
 *
 *   { "features": { "<ref as written>": { "version", "resolved": "<registry/path>@sha256:…" | "<url>",
 *                                         "integrity": "sha256:…", "dependsOn"?: [...] } },
 *     "devenv": { "baseImage": { "reference": "<image as written>", "resolved": "<registry/repo>@sha256:…" },
 *                 "fingerprint": "sha256:…" } }
 *
 * OCI and tarball Features are locked; local Features are not (as in the CLI). Pure.
 */
import { basename, dirname, join } from 'node:path';

import { DevenvError } from '../../errors.js';
import { formatReference } from '../../image/reference.js';
import type { ResolvedFeature } from './feature-types.js';

/** One locked Feature. */
export interface LockedFeature {
  version: string;
  /** OCI: `registry/repository@sha256:…` (the manifest); tarball: the URL. */
  resolved: string;
  /** OCI: the manifest digest; tarball: the sha256 of the .tgz. */
  integrity: string;
  /** The references of its dependsOn, when it has some. */
  dependsOn?: string[];
}

/** devenv's own part of the lockfile (the devcontainer CLI reads only `features`). */
export interface DevenvLockSection {
  /** The config's `image` pinned by digest (`devenv lock`). */
  baseImage?: { reference: string; resolved: string };
  /** The environment's fingerprint when it was locked (`devenv ci` checks it). */
  fingerprint?: string;
}

export interface Lockfile {
  features: Record<string, LockedFeature>;
  devenv?: DevenvLockSection;
}

/** The lockfile beside a config: `devcontainer-lock.json`, or `.devcontainer-lock.json` beside `.devcontainer.json`. */
export function lockfilePath(configFile: string): string {
  return join(dirname(configFile), basename(configFile).startsWith('.') ? '.devcontainer-lock.json' : 'devcontainer-lock.json');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parse a lockfile's text. A blank file (the CLI's "please create it" marker) is an empty lockfile. */
export function parseLockfile(text: string, file: string): Lockfile {
  if (text.trim() === '') return { features: {} };
  const bad = (why: string): DevenvError =>
    new DevenvError('LOCKFILE_INVALID', `${file}: ${why}`, { hint: 'Delete the file and run `devenv lock` to write it again.' });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw bad(`not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isObject(raw)) throw bad('not a JSON object');
  const features = raw.features ?? {};
  if (!isObject(features)) throw bad('`features` must be an object');
  for (const [ref, entry] of Object.entries(features)) {
    if (!isObject(entry) || typeof entry.resolved !== 'string' || typeof entry.integrity !== 'string') {
      throw bad(`\`features["${ref}"]\` needs string \`resolved\` and \`integrity\``);
    }
  }
  const lockfile: Lockfile = { features: features as Record<string, LockedFeature> };
  if (raw.devenv !== undefined) {
    if (!isObject(raw.devenv)) throw bad('`devenv` must be an object');
    const base = raw.devenv.baseImage;
    if (base !== undefined && (!isObject(base) || typeof base.reference !== 'string' || typeof base.resolved !== 'string')) {
      throw bad('`devenv.baseImage` needs string `reference` and `resolved`');
    }
    if (raw.devenv.fingerprint !== undefined && typeof raw.devenv.fingerprint !== 'string') throw bad('`devenv.fingerprint` must be a string');
    lockfile.devenv = raw.devenv as DevenvLockSection;
  }
  return lockfile;
}

/** The lockfile's text: the CLI's layout (2 spaces, Features sorted as the CLI sorts them, a final newline). */
export function formatLockfile(lockfile: Lockfile): string {
  const features: Record<string, LockedFeature> = {};
  for (const ref of Object.keys(lockfile.features).sort((a, b) => a.localeCompare(b))) {
    const entry = lockfile.features[ref] as LockedFeature;
    features[ref] = {
      version: entry.version,
      resolved: entry.resolved,
      integrity: entry.integrity,
      ...(entry.dependsOn && entry.dependsOn.length > 0 ? { dependsOn: entry.dependsOn } : {}),
    };
  }
  const devenv = lockfile.devenv && Object.keys(lockfile.devenv).length > 0 ? { devenv: lockfile.devenv } : {};
  return `${JSON.stringify({ features, ...devenv }, null, 2)}\n`;
}

/** The locked form of resolved Features (OCI and tarball ones), keyed by the reference as written. */
export function lockFeatures(features: readonly ResolvedFeature[]): Record<string, LockedFeature> {
  const out: Record<string, LockedFeature> = {};
  for (const f of features) {
    if (f.source.kind === 'local') continue;
    const resolved = f.source.kind === 'oci' ? `${formatReference({ registry: f.source.ref.registry, repository: f.source.ref.repository })}@${f.digest}` : f.source.url;
    const dependsOn = Object.keys(f.metadata.dependsOn ?? {});
    out[f.source.written] = {
      version: f.metadata.version ?? '',
      resolved,
      integrity: f.digest,
      ...(dependsOn.length > 0 ? { dependsOn } : {}),
    };
  }
  return out;
}

/** How the Features of `locked` differ from `current`, one line per Feature (empty: no drift). */
export function featureDrift(locked: Record<string, LockedFeature>, current: Record<string, LockedFeature>): string[] {
  const lines: string[] = [];
  for (const [ref, entry] of Object.entries(current)) {
    const old = locked[ref];
    if (!old) lines.push(`\`${ref}\` is not in the lockfile`);
    else if (old.integrity !== entry.integrity || old.resolved !== entry.resolved) {
      lines.push(`\`${ref}\` resolves to ${entry.resolved.includes('@') ? entry.integrity : `${entry.resolved} (${entry.integrity})`}, the lockfile has ${old.integrity}`);
    } else if ((old.version ?? '') !== entry.version) lines.push(`\`${ref}\` has version ${entry.version}, the lockfile has ${old.version}`);
  }
  for (const ref of Object.keys(locked)) {
    if (!(ref in current)) lines.push(`\`${ref}\` is in the lockfile but no longer used`);
  }
  return lines;
}

/** Throw LOCKFILE_DRIFT when `--frozen-lockfile` meets a lockfile that does not match, naming each Feature. */
export function assertNoDrift(file: string, locked: Lockfile | undefined, current: Record<string, LockedFeature>): void {
  if (!locked) {
    if (Object.keys(current).length === 0) return;
    throw new DevenvError('LOCKFILE_DRIFT', `frozen lockfile: ${file} does not exist (Features ${Object.keys(current).map((r) => `\`${r}\``).join(', ')} are not locked)`, {
      hint: 'Run `devenv lock` and commit the lockfile.',
    });
  }
  const drift = featureDrift(locked.features, current);
  if (drift.length > 0) {
    throw new DevenvError('LOCKFILE_DRIFT', `frozen lockfile: ${file} does not match devcontainer.json: ${drift.join('; ')}`, {
      hint: 'Run `devenv lock` (or `devenv up` without --frozen-lockfile) to update the lockfile, and commit it.',
    });
  }
}

/**
 * The image to use for the config's `image`: the lockfile's pin when it pins this very reference (as written),
 * else undefined (use the reference itself).
 */
export function pinnedBaseImage(lockfile: Lockfile | undefined, image: string): string | undefined {
  const pin = lockfile?.devenv?.baseImage;
  return pin && pin.reference === image ? pin.resolved : undefined;
}

/** In frozen mode a pinned base image must still be the config's image. */
export function assertBaseImageNotDrifted(file: string, lockfile: Lockfile | undefined, image: string | undefined): void {
  const pin = lockfile?.devenv?.baseImage;
  if (!pin || image === undefined || pin.reference === image) return;
  throw new DevenvError('LOCKFILE_DRIFT', `frozen lockfile: ${file} pins the base image \`${pin.reference}\`, devcontainer.json uses \`${image}\``, {
    hint: 'Run `devenv lock` to pin the new image, and commit the lockfile.',
  });
}
