/**
 * A key of devcontainer.json's `features` → where the Feature comes from: an OCI reference
 * (`ghcr.io/devcontainers/features/node:1`), a `https://…/devcontainer-feature-<id>.tgz`, or a local `./features/<id>`
 * folder relative to devcontainer.json. Pure.
 */
import { isAbsolute, relative, resolve } from 'node:path';

import { DevenvError } from '../../errors.js';
import { parseImageReference } from '../../image/reference.js';
import type { FeatureSource } from './feature-types.js';

const TARBALL_NAME = /^devcontainer-feature-([A-Za-z0-9_-]+)\.tgz$/;

function invalid(written: string, why: string, hint: string): DevenvError {
  return new DevenvError('FEATURE_INVALID', `feature \`${written}\`: ${why}`, { hint });
}

/**
 * Parse a Feature key. `configDir` is the folder of devcontainer.json (local Features are relative to it and must
 * stay below it, as the devcontainer CLI requires).
 */
export function parseFeatureReference(written: string, configDir: string): FeatureSource {
  if (written.startsWith('./') || written.startsWith('../') || written === '.') {
    const path = resolve(configDir, written);
    const below = relative(configDir, path);
    if (below === '' || below.startsWith('..') || isAbsolute(below)) {
      throw invalid(written, 'a local Feature must be a folder below the folder of devcontainer.json', 'Move it to e.g. `.devcontainer/features/<id>` and write `./features/<id>`.');
    }
    const id = path.slice(path.lastIndexOf('/') + 1);
    return { kind: 'local', written, path, id };
  }
  if (isAbsolute(written)) {
    throw invalid(written, 'absolute paths are not allowed', 'Write a path relative to devcontainer.json that starts with `./`.');
  }
  if (/^https?:\/\//i.test(written)) {
    let url: URL;
    try {
      url = new URL(written);
    } catch {
      throw invalid(written, 'not a valid URL', 'Write it as https://host/path/devcontainer-feature-<id>.tgz.');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      throw invalid(written, 'tarball Features must be fetched over HTTPS', 'Use an https:// URL.');
    }
    const name = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
    const match = TARBALL_NAME.exec(name);
    if (!match) {
      throw invalid(written, `the file name \`${name}\` is not \`devcontainer-feature-<id>.tgz\``, 'Name the tarball devcontainer-feature-<id>.tgz, as the spec requires.');
    }
    return { kind: 'tarball', written, url: url.toString(), id: match[1] as string };
  }
  if (!written.includes('/')) {
    throw invalid(
      written,
      'short Feature ids (the old, deprecated form) are not supported',
      `Write the full reference, e.g. \`ghcr.io/devcontainers/features/${written}:1\`.`,
    );
  }
  // The devcontainer CLI lower-cases OCI references before parsing them.
  const ref = parseImageReference(written.toLowerCase());
  const id = ref.repository.slice(ref.repository.lastIndexOf('/') + 1);
  return { kind: 'oci', written, ref, resource: `${ref.registry}/${ref.repository}`, id };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The identity of a source, without version: registry/repository, URL, or folder path. */
export function sourceIdentity(source: FeatureSource): string {
  switch (source.kind) {
    case 'oci':
      return source.resource;
    case 'tarball':
      return source.url;
    case 'local':
      return source.path;
  }
}

/**
 * Whether `source` is what a soft reference (`installsAfter` entry, `overrideFeatureInstallOrder` entry) names:
 * OCI by registry/repository (the tag is ignored) or a legacy id in the same namespace; tarballs by URL; local
 * Features by path. `aliases` are the Feature's current id and legacyIds.
 */
export function matchesSoftReference(source: FeatureSource, aliases: readonly string[], soft: FeatureSource): boolean {
  if (source.kind !== soft.kind) return false;
  switch (source.kind) {
    case 'oci': {
      const other = soft as Extract<FeatureSource, { kind: 'oci' }>;
      if (source.resource === other.resource) return true;
      const namespace = source.resource.slice(0, source.resource.lastIndexOf('/'));
      const otherNamespace = other.resource.slice(0, other.resource.lastIndexOf('/'));
      return namespace === otherNamespace && aliases.includes(other.id);
    }
    case 'tarball':
      return source.url === (soft as Extract<FeatureSource, { kind: 'tarball' }>).url;
    case 'local':
      return source.path === (soft as Extract<FeatureSource, { kind: 'local' }>).path;
  }
}
