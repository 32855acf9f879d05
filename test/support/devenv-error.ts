import { expect } from 'vitest';

import { DevenvError } from '../../src/errors.js';

/** Run fn and return the DevenvError it throws (the test fails if it throws something else or nothing). */
export function thrownDevenvError(fn: () => unknown): DevenvError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DevenvError);
    return error as DevenvError;
  }
  throw new Error('expected a DevenvError');
}
