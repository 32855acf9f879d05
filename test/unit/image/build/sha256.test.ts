import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { sha256Hex } from '../../../../src/image/build/sha256.js';

describe('sha256Hex', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('matches node:crypto at every length around the block and padding boundaries, and for UTF-8 text', () => {
    for (let n = 0; n <= 300; n++) {
      const data = randomBytes(n);
      expect(sha256Hex(data), `length ${n}`).toBe(createHash('sha256').update(data).digest('hex'));
    }
    const text = 'größe → 大きさ 🙂\n'.repeat(50);
    expect(sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'));
    const big = randomBytes(1 << 20);
    expect(sha256Hex(big)).toBe(createHash('sha256').update(big).digest('hex'));
  });
});
