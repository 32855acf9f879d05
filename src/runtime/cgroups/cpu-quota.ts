import { availableParallelism } from 'node:os';

import { DevenvError } from '../../errors.js';

/** CFS period used for every CPU limit (the kernel's and Docker's default): 100 ms. */
export const CPU_PERIOD_US = 100_000;
/** The kernel refuses quotas below 1 ms; with a 100 ms period that is 0.01 CPU, Docker's granularity too. */
export const MIN_CPU_QUOTA_US = 1_000;

/** A CFS bandwidth limit: the container may use `quotaUs` of CPU time every `periodUs`. */
export interface CpuQuota {
  quotaUs: number;
  periodUs: number;
}

/**
 * Parse `--cpus` ("1.5", "0.25", "2") into a number of CPUs. It must be a positive decimal number, at least
 * 0.01, and no more than the CPUs of this machine (`cpuCount`, default `os.availableParallelism()`).
 */
export function parseCpus(text: string, cpuCount: number = availableParallelism(), flag = '--cpus'): number {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(trimmed)) {
    throw new DevenvError('USAGE', `invalid ${flag} value \`${text}\`: use a positive number of CPUs (e.g. 1.5)`);
  }
  const cpus = Number(trimmed);
  if (!(cpus > 0)) {
    throw new DevenvError('USAGE', `invalid ${flag} value \`${text}\`: must be greater than 0`);
  }
  if (Math.round(cpus * CPU_PERIOD_US) < MIN_CPU_QUOTA_US) {
    throw new DevenvError('USAGE', `invalid ${flag} value \`${text}\`: the smallest CPU limit is 0.01`);
  }
  if (cpus > cpuCount) {
    throw new DevenvError(
      'USAGE',
      `invalid ${flag} value \`${text}\`: this machine has ${cpuCount} CPU${cpuCount === 1 ? '' : 's'}`,
      { hint: `Use a value between 0.01 and ${cpuCount}.` },
    );
  }
  return cpus;
}

/** 1.5 CPUs → { quotaUs: 150000, periodUs: 100000 }. */
export function cpusToQuota(cpus: number): CpuQuota {
  return { quotaUs: Math.max(MIN_CPU_QUOTA_US, Math.round(cpus * CPU_PERIOD_US)), periodUs: CPU_PERIOD_US };
}
