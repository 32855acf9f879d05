import { describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { formatPlatform, hostPlatform, normalizePlatform, parsePlatform, selectPlatformManifest } from '../../../../src/image/registry/platform.js';
import type { Descriptor, Platform } from '../../../../src/image/types.js';

function entry(platform: Platform | undefined, n: number, annotations?: Record<string, string>): Descriptor {
  return {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${String(n).padStart(64, '0')}`,
    size: 100 + n,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

describe('hostPlatform', () => {
  it('maps process.arch to OCI names', () => {
    expect(hostPlatform('x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(hostPlatform('arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(hostPlatform('ia32')).toEqual({ os: 'linux', architecture: '386' });
    expect(hostPlatform()).toHaveProperty('os', 'linux');
  });
});

describe('normalizePlatform / parsePlatform / formatPlatform', () => {
  it('resolves aliases and default variants', () => {
    expect(normalizePlatform({ os: 'Linux', architecture: 'x86_64' })).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(normalizePlatform({ os: 'linux', architecture: 'aarch64' })).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(normalizePlatform({ os: 'linux', architecture: 'armhf' })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(normalizePlatform({ os: 'linux', architecture: 'armel' })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(normalizePlatform({ os: 'linux', architecture: 'arm', variant: '6' })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
  });
  it('parses --platform values', () => {
    expect(parsePlatform('linux/arm/v6')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(() => parsePlatform('linux//x')).toThrow(/invalid platform `linux\/\/x`/);
    expect(() => parsePlatform('a/b/c/d')).toThrow(DevenvError);
  });
  it('formats', () => {
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('linux/arm/v7');
    expect(formatPlatform({ os: 'linux', architecture: 'amd64' })).toBe('linux/amd64');
  });
});

describe('selectPlatformManifest', () => {
  const index = [
    entry({ os: 'linux', architecture: 'amd64' }, 1),
    entry({ os: 'linux', architecture: 'arm', variant: 'v5' }, 2),
    entry({ os: 'linux', architecture: 'arm', variant: 'v6' }, 3),
    entry({ os: 'linux', architecture: 'arm64' }, 4),
    entry({ os: 'windows', architecture: 'amd64' }, 5),
    entry({ os: 'unknown', architecture: 'unknown' }, 6, { 'vnd.docker.reference.type': 'attestation-manifest' }),
    entry(undefined, 7),
  ];

  it('picks the exact match', () => {
    expect(selectPlatformManifest(index, { os: 'linux', architecture: 'amd64' }, 'pull `x`').digest).toBe(index[0]?.digest);
  });
  it('treats arm64 without variant as v8', () => {
    expect(selectPlatformManifest(index, hostPlatform('arm64'), 'pull `x`').digest).toBe(index[3]?.digest);
  });
  it('prefers the newest compatible arm variant', () => {
    expect(selectPlatformManifest(index, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'pull `x`').digest).toBe(index[2]?.digest);
    expect(selectPlatformManifest(index, { os: 'linux', architecture: 'arm', variant: 'v5' }, 'pull `x`').digest).toBe(index[1]?.digest);
  });
  it('prefers an exact variant over an earlier compatible one', () => {
    const list = [entry({ os: 'linux', architecture: 'arm', variant: 'v6' }, 1), entry({ os: 'linux', architecture: 'arm', variant: 'v7' }, 2)];
    expect(selectPlatformManifest(list, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'op').digest).toBe(list[1]?.digest);
  });
  it('does not run amd64/v3 code on an unknown amd64 CPU', () => {
    const list = [entry({ os: 'linux', architecture: 'amd64', variant: 'v3' }, 1)];
    expect(() => selectPlatformManifest(list, { os: 'linux', architecture: 'amd64' }, 'op')).toThrow(/no manifest for linux\/amd64/);
    expect(selectPlatformManifest(list, { os: 'linux', architecture: 'amd64', variant: 'v3' }, 'op').digest).toBe(list[0]?.digest);
  });
  it('lists the available platforms when none fits', () => {
    let caught: unknown;
    try {
      selectPlatformManifest(index, { os: 'linux', architecture: 's390x' }, 'pull `debian:12`');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DevenvError);
    expect((caught as DevenvError).code).toBe('REGISTRY_NOT_FOUND');
    expect((caught as DevenvError).message).toBe(
      'pull `debian:12`: no manifest for linux/s390x in the image index (available: linux/amd64, linux/arm/v5, linux/arm/v6, linux/arm64, windows/amd64)',
    );
    expect((caught as DevenvError).hint).toContain('linux/amd64');
  });
  it('says so when the index lists no platforms', () => {
    expect(() => selectPlatformManifest([entry(undefined, 1)], hostPlatform('x64'), 'op')).toThrow(/the index lists no platforms/);
  });
});
