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

/** A 64-bit hash of a string (two independent 32-bit FNV-1a lanes) as 16 hex digits: a cache key, not a
 * security boundary. Plain 32-bit integer math: BigInt arithmetic would cost a millisecond per profile. */
export function fnv1a64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}
