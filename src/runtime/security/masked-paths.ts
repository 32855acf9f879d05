import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

import { isErrnoCode, toDevenvError } from '../../errors.js';

// The union of Docker's (moby `daemon/pkg/oci/defaults.go`) and Podman's (containers/common
// `pkg/config/default.go`) lists. Docker masks /proc/asound where Podman only makes it read-only; Podman also
// masks /sys/fs/selinux. Each entry hides host information or a host-wide control that namespaces do not cover.
const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts', // GHSA-6fw5-f8r9-fgfm: per-CPU interrupt counts leak host activity
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap', // GHSA-jq35-85cj-fj4p: RAPL energy counters allow power side channels
  '/sys/firmware',
  '/sys/fs/selinux',
];

const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Options of {@link defaultMaskedPaths}. */
export interface MaskedPathsOptions {
  /**
   * `/sys/devices/system/cpu/cpuN/thermal_throttle` directories of the host (from findThermalThrottlePaths),
   * masked as Docker and Podman do; they exist only on some machines, so the list depends on the host.
   */
  thermalThrottlePaths?: readonly string[];
}

/**
 * Paths the runtime hides inside the container (`linux.maskedPaths`): a directory gets an empty read-only
 * tmpfs, a file `/dev/null`. The caller leaves them out for privileged containers, as Docker and Podman do.
 */
export function defaultMaskedPaths(options: MaskedPathsOptions = {}): string[] {
  return [...MASKED_PATHS, ...(options.thermalThrottlePaths ?? [])];
}

/**
 * Paths the runtime remounts read-only inside the container (`linux.readonlyPaths`); the caller leaves them out
 * for privileged containers.
 */
export function defaultReadonlyPaths(): string[] {
  return [...READONLY_PATHS];
}

/**
 * The `/sys/devices/system/cpu/cpuN/thermal_throttle` paths that exist under `sysRoot` (the host's `/sys` by
 * default), in CPU order, spelt as the container sees them. A host without that directory has none.
 */
export async function findThermalThrottlePaths(sysRoot = '/sys'): Promise<string[]> {
  const cpuDir = path.join(sysRoot, 'devices/system/cpu');
  let entries: string[];
  try {
    entries = readdirSync(cpuDir);
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT') || isErrnoCode(error, 'ENOTDIR')) return [];
    throw toDevenvError(`list CPUs in \`${cpuDir}\``, error);
  }
  const cpus = entries
    .map((name) => /^cpu(\d+)$/.exec(name)?.[1])
    .filter((digits): digits is string => digits !== undefined)
    .map(Number)
    .sort((a, b) => a - b);

  const found: string[] = [];
  for (const cpu of cpus) {
    const relative = `devices/system/cpu/cpu${cpu}/thermal_throttle`;
    try {
      statSync(path.join(sysRoot, relative));
      found.push(`/sys/${relative}`);
    } catch (error) {
      if (!isErrnoCode(error, 'ENOENT')) throw toDevenvError(`look for \`${path.join(sysRoot, relative)}\``, error);
    }
  }
  return found;
}
