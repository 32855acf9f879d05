import { setTimeout as delay } from 'node:timers/promises';

import { isErrnoLike } from '../../errors.js';

/** How registry requests are retried: exponential backoff on 429, 5xx and network errors, honouring Retry-After. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  maxAttempts: number;
  /** Delay before the second try; doubled for each one after. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest `Retry-After` waited for; a longer one is cut to this. */
  maxRetryAfterMs: number;
  /** Injectable for tests. Rejects when `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  now: () => number;
}

/** Waits `ms`, or rejects with the abort reason when `signal` aborts first. */
export async function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal ? { signal } : undefined);
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
  sleep: sleepFor,
  now: () => Date.now(),
};

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENETUNREACH', 'EHOSTUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** 429, 408 and server errors other than "not implemented" are worth another try. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/**
 * A failure to talk to the server at all. Node's fetch reports those as a TypeError with the socket error as
 * `cause`; TypeErrors without a cause are our own mistakes (a bad URL or header) and are not retried.
 */
export function isNetworkError(error: unknown): boolean {
  if (error instanceof TypeError) return (error as { cause?: unknown }).cause !== undefined;
  return isErrnoLike(error) && NETWORK_CODES.has(error.code);
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The wait before try number `attempt + 1` (attempt counts from 1). */
export function backoffDelayMs(attempt: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
}

function retryDelayMs(attempt: number, response: Response | undefined, policy: RetryPolicy): number {
  const after = parseRetryAfter(response?.headers.get('retry-after'), policy.now());
  return after === undefined ? backoffDelayMs(attempt, policy) : Math.min(after, policy.maxRetryAfterMs);
}

/**
 * Send a request until it gets an answer that is not worth retrying or the tries run out. The last answer is
 * returned whatever its status (the caller turns it into an error); the last network error is thrown.
 * `send` must be repeatable: its body, if any, a buffer.
 */
export async function sendWithRetry(send: () => Promise<Response>, policy: RetryPolicy, signal?: AbortSignal): Promise<Response> {
  for (let attempt = 1; ; attempt += 1) {
    let response: Response;
    try {
      response = await send();
    } catch (error) {
      if (attempt >= policy.maxAttempts || signal?.aborted || !isNetworkError(error)) throw error;
      await policy.sleep(retryDelayMs(attempt, undefined, policy), signal);
      continue;
    }
    if (attempt >= policy.maxAttempts || !isRetryableStatus(response.status)) return response;
    await response.body?.cancel().catch(() => undefined);
    await policy.sleep(retryDelayMs(attempt, response, policy), signal);
  }
}

/**
 * Run a multi-request operation (a blob upload) again from the start when it fails with an error `isRetryable`
 * accepts, with the same backoff and number of tries.
 */
export async function retryOperation<T>(
  run: (attempt: number) => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  policy: RetryPolicy,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run(attempt);
    } catch (error) {
      if (attempt >= policy.maxAttempts || signal?.aborted || !isRetryable(error)) throw error;
      await policy.sleep(backoffDelayMs(attempt, policy), signal);
    }
  }
}
