import { describe, expect, it } from 'vitest';

import { canonicalJson, computeFingerprint } from '../../../../src/devcontainer/features/fingerprint.js';

describe('fingerprint', () => {
  it('writes canonical JSON: sorted keys, no undefined, no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [{ d: undefined, c: 'x' }], e: null })).toBe('{"a":[{"c":"x"}],"b":1,"e":null}');
  });

  it('does not depend on key order, and changes with any input', () => {
    const a = computeFingerprint({ baseImage: 'x@sha256:1', features: [{ source: 's', digest: 'd', values: { a: '1', b: true } }], config: { p: 1, q: 2 } });
    const b = computeFingerprint({ config: { q: 2, p: 1 }, features: [{ values: { b: true, a: '1' }, digest: 'd', source: 's' }], baseImage: 'x@sha256:1' });
    expect(a).toBe(b);
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(computeFingerprint({ baseImage: 'x@sha256:2', features: [], config: {} })).not.toBe(computeFingerprint({ baseImage: 'x@sha256:1', features: [], config: {} }));
  });
});
