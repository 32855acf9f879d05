import { describe, expect, it } from 'vitest';

import { matchesSoftReference, parseFeatureReference } from '../../../../src/devcontainer/features/feature-reference.js';
import { thrownDevenvError } from '../../../support/devenv-error.js';

const DIR = '/work/p/.devcontainer';

describe('parseFeatureReference', () => {
  it('reads OCI references with tag, digest or nothing', () => {
    const node = parseFeatureReference('ghcr.io/devcontainers/features/node:1', DIR);
    expect(node).toMatchObject({ kind: 'oci', id: 'node', resource: 'ghcr.io/devcontainers/features/node', ref: { tag: '1' } });
    const local = parseFeatureReference('127.0.0.1:5056/features/hello:1', DIR);
    expect(local).toMatchObject({ kind: 'oci', id: 'hello', resource: '127.0.0.1:5056/features/hello' });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseFeatureReference(`ghcr.io/x/y/z@${digest}`, DIR)).toMatchObject({ ref: { digest } });
    expect(parseFeatureReference('ghcr.io/x/y/z', DIR)).toMatchObject({ ref: { tag: 'latest' } });
  });

  it('lower-cases OCI references as the devcontainer CLI does, keeping the key as written', () => {
    const f = parseFeatureReference('GHCR.io/Devcontainers/Features/Node:1', DIR);
    expect(f).toMatchObject({ kind: 'oci', written: 'GHCR.io/Devcontainers/Features/Node:1', resource: 'ghcr.io/devcontainers/features/node' });
  });

  it('reads tarball URLs named devcontainer-feature-<id>.tgz', () => {
    expect(parseFeatureReference('https://example.com/releases/devcontainer-feature-go.tgz', DIR)).toMatchObject({ kind: 'tarball', id: 'go' });
    expect(thrownDevenvError(() => parseFeatureReference('https://example.com/go.tgz', DIR)).code).toBe('FEATURE_INVALID');
    expect(thrownDevenvError(() => parseFeatureReference('http://example.com/devcontainer-feature-go.tgz', DIR)).message).toContain('HTTPS');
  });

  it('reads local folders relative to devcontainer.json, refusing to leave it', () => {
    expect(parseFeatureReference('./features/hello', DIR)).toEqual({ kind: 'local', written: './features/hello', path: `${DIR}/features/hello`, id: 'hello' });
    expect(thrownDevenvError(() => parseFeatureReference('../outside', DIR)).code).toBe('FEATURE_INVALID');
    expect(thrownDevenvError(() => parseFeatureReference('/abs/feature', DIR)).code).toBe('FEATURE_INVALID');
  });

  it('refuses the deprecated short ids with a hint to the full reference', () => {
    const error = thrownDevenvError(() => parseFeatureReference('node', DIR));
    expect(error.hint).toContain('ghcr.io/devcontainers/features/node:1');
  });
});

describe('matchesSoftReference', () => {
  it('matches OCI Features by repository whatever the tag, and renamed ones by legacy id', () => {
    const node = parseFeatureReference('ghcr.io/devcontainers/features/node:1', DIR);
    expect(matchesSoftReference(node, ['node'], parseFeatureReference('ghcr.io/devcontainers/features/node', DIR))).toBe(true);
    expect(matchesSoftReference(node, ['node', 'nodejs'], parseFeatureReference('ghcr.io/devcontainers/features/nodejs', DIR))).toBe(true);
    expect(matchesSoftReference(node, ['node'], parseFeatureReference('ghcr.io/other/features/node', DIR))).toBe(false);
    expect(matchesSoftReference(node, ['node'], parseFeatureReference('./features/node', DIR))).toBe(false);
  });
});
