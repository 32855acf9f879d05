import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  defaultMaskedPaths,
  defaultReadonlyPaths,
  findThermalThrottlePaths,
} from '../../../../src/runtime/security/masked-paths.js';

describe('defaultMaskedPaths', () => {
  it("covers Docker's and Podman's masked paths", () => {
    const masked = defaultMaskedPaths();
    for (const p of [
      '/proc/acpi',
      '/proc/asound',
      '/proc/interrupts',
      '/proc/kcore',
      '/proc/keys',
      '/proc/latency_stats',
      '/proc/sched_debug',
      '/proc/scsi',
      '/proc/timer_list',
      '/proc/timer_stats',
      '/sys/devices/virtual/powercap',
      '/sys/firmware',
      '/sys/fs/selinux',
    ]) {
      expect(masked).toContain(p);
    }
  });

  it('holds absolute, normalised, distinct paths under /proc or /sys', () => {
    const masked = defaultMaskedPaths();
    expect(new Set(masked).size).toBe(masked.length);
    for (const p of masked) {
      expect(path.posix.normalize(p)).toBe(p);
      expect(p).toMatch(/^\/(proc|sys)\/./);
    }
  });

  it('appends the host thermal_throttle paths it is given', () => {
    const thermal = ['/sys/devices/system/cpu/cpu0/thermal_throttle'];
    const masked = defaultMaskedPaths({ thermalThrottlePaths: thermal });
    expect(masked.slice(-1)).toEqual(thermal);
    expect(masked).toHaveLength(defaultMaskedPaths().length + 1);
  });

  it('returns a fresh array each time', () => {
    defaultMaskedPaths().push('/etc');
    expect(defaultMaskedPaths()).not.toContain('/etc');
  });
});

describe('defaultReadonlyPaths', () => {
  it("is Docker's read-only list", () => {
    expect(defaultReadonlyPaths()).toEqual(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  });

  it('does not overlap the masked paths', () => {
    const masked = new Set(defaultMaskedPaths());
    expect(defaultReadonlyPaths().filter((p) => masked.has(p))).toEqual([]);
  });
});

describe('findThermalThrottlePaths', () => {
  let sysRoot: string;

  beforeEach(async () => {
    sysRoot = await mkdtemp(path.join(tmpdir(), 'devenv-sys-'));
  });

  afterEach(async () => {
    await rm(sysRoot, { recursive: true, force: true });
  });

  it('lists existing thermal_throttle directories in CPU order, as container paths', async () => {
    const cpuDir = path.join(sysRoot, 'devices/system/cpu');
    for (const cpu of ['cpu0', 'cpu1', 'cpu2', 'cpu10']) await mkdir(path.join(cpuDir, cpu), { recursive: true });
    for (const cpu of ['cpu10', 'cpu0', 'cpu2']) await mkdir(path.join(cpuDir, cpu, 'thermal_throttle'));
    await mkdir(path.join(cpuDir, 'cpufreq', 'thermal_throttle'), { recursive: true });
    await writeFile(path.join(cpuDir, 'online'), '0-10\n');

    expect(await findThermalThrottlePaths(sysRoot)).toEqual([
      '/sys/devices/system/cpu/cpu0/thermal_throttle',
      '/sys/devices/system/cpu/cpu2/thermal_throttle',
      '/sys/devices/system/cpu/cpu10/thermal_throttle',
    ]);
  });

  it('finds none when the host has no cpu directory', async () => {
    expect(await findThermalThrottlePaths(sysRoot)).toEqual([]);
    expect(await findThermalThrottlePaths(path.join(sysRoot, 'absent'))).toEqual([]);
  });
});
