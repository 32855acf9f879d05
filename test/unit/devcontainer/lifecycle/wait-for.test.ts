import { describe, expect, it } from 'vitest';

import { splitAtWaitFor } from '../../../../src/devcontainer/lifecycle/wait-for.js';

describe('splitAtWaitFor', () => {
  it('waits for updateContentCommand by default', () => {
    expect(splitAtWaitFor(undefined)).toEqual({
      blocking: ['onCreateCommand', 'updateContentCommand'],
      background: ['postCreateCommand', 'postStartCommand', 'postAttachCommand'],
    });
  });

  it('splits after the named hook', () => {
    expect(splitAtWaitFor('onCreateCommand').blocking).toEqual(['onCreateCommand']);
    expect(splitAtWaitFor('postStartCommand')).toEqual({
      blocking: ['onCreateCommand', 'updateContentCommand', 'postCreateCommand', 'postStartCommand'],
      background: ['postAttachCommand'],
    });
    expect(splitAtWaitFor('postAttachCommand').background).toEqual([]);
  });

  it('blocks on no container hook for initializeCommand', () => {
    expect(splitAtWaitFor('initializeCommand').blocking).toEqual([]);
    expect(splitAtWaitFor('initializeCommand').background).toHaveLength(5);
  });

  it('falls back to the default for an unknown value', () => {
    expect(splitAtWaitFor('bogus' as 'onCreateCommand')).toEqual(splitAtWaitFor(undefined));
  });
});
