import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  checkHostRequirements,
  formatHostSize,
  parseHostSize,
  probeHost,
  type HostResources,
} from '../../../src/devcontainer/config/host-requirements.js';
import { DevenvError } from '../../../src/errors.js';
import { thrownDevenvError as thrown } from '../../support/devenv-error.js';

const GiB = 2 ** 30;
const big: HostResources = { cpus: 16, memoryBytes: 64 * GiB, storageBytes: 500 * GiB, hasGpu: true };

describe('parseHostSize', () => {
  it('reads the spec units as binary multiples, in any case, with decimals', () => {
    expect(parseHostSize('4gb', 'f')).toBe(4 * GiB);
    expect(parseHostSize('8GB', 'f')).toBe(8 * GiB);
    expect(parseHostSize('512mb', 'f')).toBe(512 * 2 ** 20);
    expect(parseHostSize('1.5tb', 'f')).toBe(1.5 * 2 ** 40);
    expect(parseHostSize('64kb', 'f')).toBe(64 * 1024);
    expect(parseHostSize('2GiB', 'f')).toBe(2 * GiB);
    expect(parseHostSize('4g', 'f')).toBe(4 * GiB);
    expect(parseHostSize('1073741824', 'f')).toBe(GiB);
  });

  it('names the field when the size cannot be read', () => {
    for (const text of ['lots', '4 gigs', '-1gb', '4pb', '']) {
      const error = thrown(() => parseHostSize(text, 'hostRequirements.memory'));
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.message).toContain('hostRequirements.memory');
    }
  });
});

describe('formatHostSize', () => {
  it('prints binary units with at most one decimal, rounding down', () => {
    expect(formatHostSize(8 * GiB)).toBe('8 GiB');
    expect(formatHostSize(3.86 * GiB)).toBe('3.8 GiB');
    expect(formatHostSize(7.99 * GiB)).toBe('7.9 GiB');
    expect(formatHostSize(512 * 2 ** 20)).toBe('512 MiB');
    expect(formatHostSize(2 * 2 ** 40)).toBe('2 TiB');
    expect(formatHostSize(100)).toBe('100 B');
  });
});

describe('checkHostRequirements', () => {
  it('passes with no requirements or when the host is large enough', () => {
    expect(checkHostRequirements(undefined, big)).toEqual({ warnings: [] });
    expect(checkHostRequirements({ cpus: 16, memory: '64gb', storage: '500gb', gpu: true }, big)).toEqual({ warnings: [] });
  });

  it('lists every unmet requirement with what is needed and what the host has', () => {
    const host: HostResources = { cpus: 2, memoryBytes: 3.86 * GiB, storageBytes: 10.25 * GiB, hasGpu: false };
    const error = thrown(() => checkHostRequirements({ cpus: 4, memory: '8gb', storage: '32gb', gpu: true }, host));
    expect(error.code).toBe('HOST_TOO_SMALL');
    expect(error.kind).toBe('external');
    expect(error.exitCode).toBe(1);
    expect(error.message.split('\n')).toEqual([
      "this host does not meet the dev container's hostRequirements:",
      '  hostRequirements.cpus: needs 4 CPUs, this host has 2',
      '  hostRequirements.memory: needs 8 GiB, this host has 3.8 GiB',
      '  hostRequirements.storage: needs 32 GiB free, this host has 10.2 GiB free',
      '  hostRequirements.gpu: needs a GPU, this host has none',
    ]);
    expect(error.hint).toBeDefined();
  });

  it('accepts memory a little under the requirement (MemTotal excludes reserved memory)', () => {
    expect(checkHostRequirements({ memory: '8gb' }, { ...big, memoryBytes: 7.6 * GiB })).toEqual({ warnings: [] });
    expect(() => checkHostRequirements({ memory: '8gb' }, { ...big, memoryBytes: 7 * GiB })).toThrow(DevenvError);
  });

  it('only warns when an optional GPU is missing', () => {
    const result = checkHostRequirements({ gpu: 'optional' }, { ...big, hasGpu: false });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain('hostRequirements.gpu');
    expect(checkHostRequirements({ gpu: false }, { ...big, hasGpu: false })).toEqual({ warnings: [] });
  });

  it('treats a GPU object as a required GPU', () => {
    expect(() => checkHostRequirements({ gpu: { cores: 2 } }, { ...big, hasGpu: false })).toThrow(/needs a GPU/);
  });

  it('reads merged byte counts as well as spelled sizes', () => {
    expect(() => checkHostRequirements({ memory: String(128 * GiB) }, big)).toThrow(/needs 128 GiB/);
  });
});

describe('probeHost', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const temp = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'devenv-host-'));
    dirs.push(dir);
    return dir;
  };

  it('measures the host, using the nearest existing ancestor of a store that does not exist yet', () => {
    const dev = temp();
    const host = probeHost(join(temp(), 'not', 'yet'), { devDir: dev });
    expect(host.cpus).toBeGreaterThan(0);
    expect(host.memoryBytes).toBeGreaterThan(0);
    expect(host.storageBytes).toBeGreaterThan(0);
    expect(host.hasGpu).toBe(false);
  });

  it('finds an NVIDIA device or a DRM render node, not a bare framebuffer', () => {
    const nvidia = temp();
    writeFileSync(join(nvidia, 'nvidia0'), '');
    expect(probeHost(nvidia, { devDir: nvidia }).hasGpu).toBe(true);

    const framebuffer = temp();
    mkdirSync(join(framebuffer, 'dri'));
    writeFileSync(join(framebuffer, 'dri', 'card0'), '');
    expect(probeHost(framebuffer, { devDir: framebuffer }).hasGpu).toBe(false);

    writeFileSync(join(framebuffer, 'dri', 'renderD128'), '');
    expect(probeHost(framebuffer, { devDir: framebuffer }).hasGpu).toBe(true);
  });
});
