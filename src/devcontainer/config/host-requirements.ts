import { existsSync, readdirSync, statfsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import { DevenvError } from '../../errors.js';
import type { HostRequirements } from './config-types.js';

/** What the host offers, as `probeHost` measures it (injected into `checkHostRequirements` so tests need no host). */
export interface HostResources {
  /** CPUs this process may run on (affinity-aware). */
  cpus: number;
  /** Physical memory as the kernel reports it (MemTotal). */
  memoryBytes: number;
  /** Free space for unprivileged users on the file system holding devenv's store. */
  storageBytes: number;
  hasGpu: boolean;
}

/** `checkHostRequirements`'s result when every hard requirement is met. */
export interface HostCheckResult {
  warnings: string[];
}

/*
 * MemTotal is physical RAM minus what firmware, the kernel image and integrated graphics reserve, so a machine sold
 * as 8 GB reports about 7.6 GiB. A requirement is still met when MemTotal is within this fraction of it; otherwise
 * "memory": "8gb" could never be satisfied on an 8 GB machine.
 */
export const MEMORY_TOLERANCE = 0.1;

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
const SIZE = /^(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgt])(?:i?b)?|b)?$/i;

/**
 * A hostRequirements size ("4gb", "512mb", "1.5tb", "8GB", or a plain byte count as the merged config writes it)
 * in bytes. Units are binary (1 gb = 2^30 bytes) as the devcontainer CLI reads them; the spec's lowercase
 * `tb|gb|mb|kb` spellings are a subset of what is accepted (any case, optional `b`/`ib`, decimals).
 */
export function parseHostSize(text: string, field: string): number {
  const match = SIZE.exec(text.trim());
  if (!match) {
    throw new DevenvError('CONFIG_INVALID', `${field}: \`${text}\` is not a size`, {
      hint: 'Write a number with a tb, gb, mb or kb suffix, for example "8gb" or "512mb".',
    });
  }
  const unit = UNITS[(match[2] ?? '').toLowerCase()] ?? 1;
  return Math.round(Number(match[1]) * unit);
}

/** Bytes for people: "8 GiB", "3.8 GiB", "512 MiB" (one decimal, dropped when zero). */
export function formatHostSize(bytes: number): string {
  const steps: [number, string][] = [
    [2 ** 40, 'TiB'],
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ];
  for (const [size, unit] of steps) {
    if (bytes >= size) return `${trimDecimal(bytes / size)} ${unit}`;
  }
  return `${bytes} B`;
}

function trimDecimal(value: number): string {
  // Round down so "needs 8 GiB, has 7.96 GiB" never prints as "has 8 GiB".
  const tenths = Math.floor(value * 10) / 10;
  return Number.isInteger(tenths) ? String(tenths) : tenths.toFixed(1);
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * Compare the merged `hostRequirements` with the host. Unmet hard requirements throw one HOST_TOO_SMALL error
 * listing each of them; `gpu: "optional"` without a GPU is only a warning.
 */
export function checkHostRequirements(req: HostRequirements | undefined, host: HostResources): HostCheckResult {
  const warnings: string[] = [];
  if (!req) return { warnings };
  const unmet: string[] = [];

  if (req.cpus !== undefined && req.cpus > 0 && host.cpus < req.cpus) {
    unmet.push(`hostRequirements.cpus: needs ${plural(req.cpus, 'CPU')}, this host has ${host.cpus}`);
  }
  if (req.memory !== undefined) {
    const needed = parseHostSize(req.memory, 'hostRequirements.memory');
    if (host.memoryBytes < needed * (1 - MEMORY_TOLERANCE)) {
      unmet.push(`hostRequirements.memory: needs ${formatHostSize(needed)}, this host has ${formatHostSize(host.memoryBytes)}`);
    }
  }
  if (req.storage !== undefined) {
    const needed = parseHostSize(req.storage, 'hostRequirements.storage');
    if (host.storageBytes < needed) {
      unmet.push(`hostRequirements.storage: needs ${formatHostSize(needed)} free, this host has ${formatHostSize(host.storageBytes)} free`);
    }
  }
  const gpu = req.gpu;
  if (gpu !== undefined && gpu !== false && !host.hasGpu) {
    if (gpu === 'optional') warnings.push('hostRequirements.gpu is "optional" and this host has no GPU; continuing without one');
    else unmet.push('hostRequirements.gpu: needs a GPU, this host has none');
  }

  if (unmet.length > 0) {
    throw new DevenvError('HOST_TOO_SMALL', `this host does not meet the dev container's hostRequirements:\n  ${unmet.join('\n  ')}`, {
      kind: 'external',
      hint: 'Use a larger machine, free some disk space, or lower hostRequirements in devcontainer.json (or in the image or Feature that sets them).',
    });
  }
  return { warnings };
}

/** Where `probeHost` looks for GPU device nodes (a parameter so tests can point it at a temp dir). */
export interface ProbeHostOptions {
  devDir?: string;
}

/** Measure the host for `checkHostRequirements`. `storePath` need not exist yet: its nearest existing ancestor is measured. */
export function probeHost(storePath: string, options: ProbeHostOptions = {}): HostResources {
  const devDir = options.devDir ?? '/dev';
  return {
    cpus: availableParallelism(),
    memoryBytes: totalmem(),
    storageBytes: freeBytes(storePath),
    hasGpu: hasGpuDevice(devDir),
  };
}

function freeBytes(path: string): number {
  let current = resolve(path);
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  const stats = statfsSync(current);
  return Number(stats.bavail) * Number(stats.bsize);
}

/*
 * An NVIDIA device node, or a DRM render node (/dev/dri/renderD*): render nodes exist only for GPUs that can run
 * compute or 3D work, while /dev/dri/card0 also exists for plain framebuffers (simpledrm, virtual consoles).
 */
function hasGpuDevice(devDir: string): boolean {
  if (existsSync(join(devDir, 'nvidia0'))) return true;
  try {
    return readdirSync(join(devDir, 'dri')).some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}
