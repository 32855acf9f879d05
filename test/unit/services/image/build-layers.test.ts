import { describe, expect, it } from 'vitest';

import { computeChainIds } from '../../../../src/image/store/image-store.js';
import { appendLayer } from '../../../../src/services/image/build-layers.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;

describe('appendLayer', () => {
  it('gives the chain ids the layer store computes', () => {
    const diffIds = [d('a'), d('b'), d('c')];
    let layers = appendLayer([], { digest: diffIds[0] as string, size: 1 });
    layers = appendLayer(layers, { digest: diffIds[1] as string, size: 2 });
    layers = appendLayer(layers, { digest: diffIds[2] as string, size: 3 });
    expect(layers.map((l) => l.chainId)).toEqual(computeChainIds(diffIds));
    expect(layers[2]).toMatchObject({ diffId: d('c'), descriptor: { digest: d('c'), size: 3 } });
  });
});
