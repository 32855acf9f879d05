import { describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { cpusToQuota, parseCpus } from '../../../../src/runtime/cgroups/cpu-quota.js';

describe('parseCpus', () => {
  it.each([
    ['1.5', 1.5],
    ['2', 2],
    ['0.01', 0.01],
    ['.5', 0.5],
    [' 1 ', 1],
  ])('%s → %d', (text, cpus) => {
    expect(parseCpus(text, 2)).toBe(cpus);
  });

  it.each([
    ['abc', /use a positive number of CPUs/],
    ['-1', /use a positive number of CPUs/],
    ['1,5', /use a positive number of CPUs/],
    ['', /use a positive number of CPUs/],
    ['0', /must be greater than 0/],
    ['0.001', /smallest CPU limit is 0.01/],
    ['3', /this machine has 2 CPUs/],
  ])('rejects `%s`', (text, message) => {
    try {
      parseCpus(text, 2);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DevenvError);
      expect((error as DevenvError).code).toBe('USAGE');
      expect((error as DevenvError).message).toMatch(message);
      expect((error as DevenvError).message).toContain(`\`${text}\``);
    }
  });

  it('says CPU in the singular on one-CPU machines', () => {
    expect(() => parseCpus('2', 1)).toThrow(/this machine has 1 CPU$/);
  });
});

describe('cpusToQuota', () => {
  it('turns fractional CPUs into a CFS quota per 100 ms period', () => {
    expect(cpusToQuota(1.5)).toEqual({ quotaUs: 150_000, periodUs: 100_000 });
    expect(cpusToQuota(0.01)).toEqual({ quotaUs: 1_000, periodUs: 100_000 });
    expect(cpusToQuota(2)).toEqual({ quotaUs: 200_000, periodUs: 100_000 });
  });
});
