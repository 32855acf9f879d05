import { describe, expect, it } from 'vitest';

import { parseFeatureReference } from '../../../../src/devcontainer/features/feature-reference.js';
import type { ResolvedFeature } from '../../../../src/devcontainer/features/feature-types.js';
import {
  assertBaseImageNotDrifted,
  assertNoDrift,
  featureDrift,
  formatLockfile,
  lockFeatures,
  lockfilePath,
  parseLockfile,
  pinnedBaseImage,
} from '../../../../src/devcontainer/features/lockfile.js';
import { thrownDevenvError } from '../../../support/devenv-error.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

function resolved(written: string, digest: string, extra: Partial<ResolvedFeature['metadata']> = {}): ResolvedFeature {
  return {
    source: parseFeatureReference(written, '/p/.devcontainer'),
    dir: '/cache',
    metadata: { id: 'x', version: '1.0.0', ...extra },
    digest,
    options: {},
    values: {},
    origin: 'user',
  };
}

describe('lockfile', () => {
  it('sits beside devcontainer.json, dotted beside .devcontainer.json', () => {
    expect(lockfilePath('/p/.devcontainer/devcontainer.json')).toBe('/p/.devcontainer/devcontainer-lock.json');
    expect(lockfilePath('/p/.devcontainer.json')).toBe('/p/.devcontainer-lock.json');
  });

  it('locks OCI and tarball Features in the CLI format, not local ones', () => {
    const features = lockFeatures([
      resolved('ghcr.io/devcontainers/features/node:1', D1, { dependsOn: { 'ghcr.io/devcontainers/features/common-utils:2': {} } }),
      resolved('https://example.com/devcontainer-feature-go.tgz', D2),
      resolved('./features/local', D2),
    ]);
    expect(features).toEqual({
      'ghcr.io/devcontainers/features/node:1': {
        version: '1.0.0',
        resolved: `ghcr.io/devcontainers/features/node@${D1}`,
        integrity: D1,
        dependsOn: ['ghcr.io/devcontainers/features/common-utils:2'],
      },
      'https://example.com/devcontainer-feature-go.tgz': { version: '1.0.0', resolved: 'https://example.com/devcontainer-feature-go.tgz', integrity: D2 },
    });
  });

  it('formats as the CLI does (sorted, 2 spaces, final newline) and reads back, devenv section included', () => {
    const lockfile = {
      features: { 'b.io/x/y:1': { version: '1', resolved: `b.io/x/y@${D1}`, integrity: D1 }, 'a.io/x/y:1': { version: '2', resolved: `a.io/x/y@${D2}`, integrity: D2 } },
      devenv: { baseImage: { reference: 'debian:bookworm', resolved: `docker.io/library/debian@${D1}` }, fingerprint: D2 },
    };
    const text = formatLockfile(lockfile);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.indexOf('a.io')).toBeLessThan(text.indexOf('b.io'));
    expect(text).toContain('\n  "features": {\n    "a.io/x/y:1": {\n      "version": "2",');
    expect(parseLockfile(text, 'f')).toEqual(lockfile);
    expect(formatLockfile({ features: {} })).toBe('{\n  "features": {}\n}\n');
  });

  it('treats a blank file as an empty lockfile and refuses broken ones', () => {
    expect(parseLockfile('  \n', 'f')).toEqual({ features: {} });
    expect(thrownDevenvError(() => parseLockfile('{', 'lock.json')).code).toBe('LOCKFILE_INVALID');
    expect(thrownDevenvError(() => parseLockfile('{"features": {"x": {"resolved": 1}}}', 'lock.json')).message).toContain('features["x"]');
  });

  it('names every drifted Feature', () => {
    const locked = { 'a.io/x/a:1': { version: '1', resolved: `a.io/x/a@${D1}`, integrity: D1 }, 'a.io/x/gone:1': { version: '1', resolved: `a.io/x/gone@${D1}`, integrity: D1 } };
    const current = { 'a.io/x/a:1': { version: '1', resolved: `a.io/x/a@${D2}`, integrity: D2 }, 'a.io/x/new:1': { version: '1', resolved: `a.io/x/new@${D1}`, integrity: D1 } };
    expect(featureDrift(locked, current)).toEqual([
      `\`a.io/x/a:1\` resolves to ${D2}, the lockfile has ${D1}`,
      '`a.io/x/new:1` is not in the lockfile',
      '`a.io/x/gone:1` is in the lockfile but no longer used',
    ]);
    const error = thrownDevenvError(() => assertNoDrift('/p/devcontainer-lock.json', { features: locked }, current));
    expect(error.code).toBe('LOCKFILE_DRIFT');
    expect(error.message).toContain('`a.io/x/new:1` is not in the lockfile');
    expect(() => assertNoDrift('/p/l.json', { features: locked }, locked)).not.toThrow();
  });

  it('requires a lockfile when frozen and there is something to lock', () => {
    expect(() => assertNoDrift('/p/l.json', undefined, {})).not.toThrow();
    expect(thrownDevenvError(() => assertNoDrift('/p/l.json', undefined, { 'a.io/x/a:1': { version: '1', resolved: 'r', integrity: D1 } })).message).toContain('does not exist');
  });

  it('pins the base image only for the reference it was locked for', () => {
    const lockfile = { features: {}, devenv: { baseImage: { reference: 'debian:bookworm', resolved: `docker.io/library/debian@${D1}` } } };
    expect(pinnedBaseImage(lockfile, 'debian:bookworm')).toBe(`docker.io/library/debian@${D1}`);
    expect(pinnedBaseImage(lockfile, 'debian:trixie')).toBeUndefined();
    expect(thrownDevenvError(() => assertBaseImageNotDrifted('l.json', lockfile, 'debian:trixie')).message).toContain('pins the base image `debian:bookworm`');
  });
});
