import { describe, expect, it } from 'vitest';

import { DEFAULT_RETRY_POLICY, isRetryableStatus, parseRetryAfter, retryOperation, sendWithRetry, type RetryPolicy } from '../../../../src/image/registry/retry.js';

function policy(delays: number[]): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, sleep: async (ms) => void delays.push(ms), now: () => Date.parse('2024-01-01T00:00:00Z') };
}

function networkError(): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
}

describe('retry', () => {
  it('knows what is worth retrying', () => {
    expect([429, 408, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([200, 400, 401, 404, 501, 505].some(isRetryableStatus)).toBe(false);
  });

  it('reads Retry-After in seconds and as a date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('backs off exponentially and gives up after 5 tries, returning the last answer', async () => {
    const delays: number[] = [];
    let calls = 0;
    const response = await sendWithRetry(async () => {
      calls += 1;
      return new Response('busy', { status: 503 });
    }, policy(delays));
    expect(calls).toBe(5);
    expect(response.status).toBe(503);
    expect(delays).toEqual([250, 500, 1000, 2000]);
  });

  it('honours Retry-After (capped)', async () => {
    const delays: number[] = [];
    const answers = [
      new Response('', { status: 429, headers: { 'retry-after': '2' } }),
      new Response('', { status: 429, headers: { 'retry-after': '3600' } }),
      new Response('ok', { status: 200 }),
    ];
    const response = await sendWithRetry(async () => answers.shift() as Response, policy(delays));
    expect(response.status).toBe(200);
    expect(delays).toEqual([2000, 60_000]);
  });

  it('retries network errors, not programming errors', async () => {
    const delays: number[] = [];
    let calls = 0;
    const ok = await sendWithRetry(async () => {
      calls += 1;
      if (calls < 3) throw networkError();
      return new Response('ok');
    }, policy(delays));
    expect(ok.status).toBe(200);
    expect(delays).toHaveLength(2);

    calls = 0;
    await expect(
      sendWithRetry(async () => {
        calls += 1;
        throw new TypeError('Invalid URL');
      }, policy([])),
    ).rejects.toThrow('Invalid URL');
    expect(calls).toBe(1);

    calls = 0;
    await expect(
      sendWithRetry(async () => {
        calls += 1;
        throw networkError();
      }, policy([])),
    ).rejects.toThrow('fetch failed');
    expect(calls).toBe(5);
  });

  it('re-runs whole operations on retryable errors', async () => {
    const delays: number[] = [];
    let runs = 0;
    const value = await retryOperation(
      async () => {
        runs += 1;
        if (runs < 2) throw new Error('again');
        return 'done';
      },
      (error) => (error as Error).message === 'again',
      policy(delays),
    );
    expect(value).toBe('done');
    expect(delays).toEqual([250]);
    await expect(retryOperation(async () => Promise.reject(new Error('fatal')), () => false, policy([]))).rejects.toThrow('fatal');
  });

  it('stops waiting when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(DEFAULT_RETRY_POLICY.sleep(10_000, controller.signal)).rejects.toThrow();
  });
});
