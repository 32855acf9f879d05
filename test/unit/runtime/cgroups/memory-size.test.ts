import { describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { formatMemorySize, MIN_MEMORY_BYTES, parseMemorySize } from '../../../../src/runtime/cgroups/memory-size.js';

describe('parseMemorySize', () => {
  it.each([
    ['64m', 64 * 1024 ** 2],
    ['64M', 64 * 1024 ** 2],
    ['64mb', 64 * 1024 ** 2],
    ['64MiB', 64 * 1024 ** 2],
    ['64 MiB', 64 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1GB', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['8192k', 8 * 1024 ** 2],
    ['8192KiB', 8 * 1024 ** 2],
    ['6291456', MIN_MEMORY_BYTES],
    ['6291456b', MIN_MEMORY_BYTES],
    ['6m', MIN_MEMORY_BYTES],
  ])('%s → %d bytes', (text, bytes) => {
    expect(parseMemorySize(text)).toBe(bytes);
  });

  it.each(['12x', '', 'm', '-5m', '5bb', '5 m b', '1e9', '0x10m', '64mib2', '1t'])('rejects `%s` with a usage error naming it', (text) => {
    try {
      parseMemorySize(text);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DevenvError);
      expect((error as DevenvError).code).toBe('USAGE');
      expect((error as DevenvError).exitCode).toBe(2);
      expect((error as DevenvError).message).toBe(
        `invalid --memory value \`${text}\`: use a number with an optional unit b, k, m or g (e.g. 512m)`,
      );
    }
  });

  it('rejects values below 6 MiB like Docker', () => {
    expect(() => parseMemorySize('4m')).toThrow(/minimum memory limit is 6 MiB/);
    expect(() => parseMemorySize('1024')).toThrow(/invalid --memory value `1024`/);
  });

  it('names another flag when asked', () => {
    expect(() => parseMemorySize('x', '--memory-swap')).toThrow(/invalid --memory-swap value `x`/);
  });
});

describe('formatMemorySize', () => {
  it.each([
    [67108864, '64 MiB'],
    [512, '512 B'],
    [1024, '1 KiB'],
    [1.5 * 1024 ** 3, '1.5 GiB'],
    [MIN_MEMORY_BYTES, '6 MiB'],
    [1000 * 1024 ** 2, '1000 MiB'],
    [2 * 1024 ** 4, '2 TiB'],
  ])('%d → %s', (bytes, text) => {
    expect(formatMemorySize(bytes)).toBe(text);
  });
});
