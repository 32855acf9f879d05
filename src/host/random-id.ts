import { closeSync, openSync, readSync } from 'node:fs';

/**
 * `bytes` random bytes as hex, from /dev/urandom. Not node:crypto: loading it costs ~6 ms, a tenth of a whole
 * `container run`, and ids need no more than the kernel's randomness.
 */
export function randomHex(bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    let got = 0;
    while (got < bytes) got += readSync(fd, buf, got, bytes - got, null);
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}

/** 64-bit FNV-1a of a string, as 16 hex digits: a cache key, not a security boundary. */
export function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = (1n << 64n) - 1n;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * prime) & mask;
  }
  return hash.toString(16).padStart(16, '0');
}
