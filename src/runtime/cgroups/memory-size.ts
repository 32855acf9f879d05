import { DevenvError } from '../../errors.js';

/** Docker's lower bound for a memory limit: below this a container cannot even start its init reliably. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

const UNIT_POWERS: Record<string, number> = { '': 0, b: 0, k: 1, m: 2, g: 3 };

// Docker (go-units RAMInBytes) rules: a number, an optional space, an optional unit letter, an optional `i`
// and an optional `b`; all powers of 1024; no unit means bytes. `t`/`p` are left out on purpose: the message
// below promises b, k, m and g, and no dev container wants a terabyte limit.
const MEMORY_PATTERN = /^(\d+(?:\.\d+)?) ?(b|[kmg]i?b?)?$/i;

/**
 * Parse a memory size as given to `--memory` ("64m", "1.5g", "512MiB", "1048576") into bytes.
 * Throws a USAGE DevenvError naming the value when it is malformed or below {@link MIN_MEMORY_BYTES}.
 */
export function parseMemorySize(text: string, flag = '--memory'): number {
  const trimmed = text.trim();
  const match = MEMORY_PATTERN.exec(trimmed);
  if (!match) {
    throw new DevenvError(
      'USAGE',
      `invalid ${flag} value \`${text}\`: use a number with an optional unit b, k, m or g (e.g. 512m)`,
    );
  }
  const power = UNIT_POWERS[(match[2] ?? '').charAt(0).toLowerCase()] ?? 0;
  const bytes = Math.floor(Number(match[1]) * 1024 ** power);
  if (!Number.isSafeInteger(bytes)) {
    throw new DevenvError('USAGE', `invalid ${flag} value \`${text}\`: too large`);
  }
  if (bytes < MIN_MEMORY_BYTES) {
    throw new DevenvError(
      'USAGE',
      `invalid ${flag} value \`${text}\`: the minimum memory limit is ${formatMemorySize(MIN_MEMORY_BYTES)} (6m)`,
    );
  }
  return bytes;
}

const FORMAT_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Human-readable binary size: 67108864 → "64 MiB", 1610612736 → "1.5 GiB", 512 → "512 B". */
export function formatMemorySize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < FORMAT_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const rounded = unit === 0 ? String(value) : String(Math.round(value * 100) / 100);
  return `${rounded} ${FORMAT_UNITS[unit]}`;
}
