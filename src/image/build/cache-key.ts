import { sha256Hex } from './sha256.js';

/**
 * Build cache keys. Every instruction's key hashes its parent's key with what the instruction does after expansion,
 * so a key names the whole history up to it: the base image's manifest digest, each ENV/ARG/USER/WORKDIR value,
 * each command, and for COPY/ADD the hash of the copied files (content, mode, and the owner they get). A change in
 * one step changes its key and every later one; steps before it keep theirs. Pure.
 */
export function stepCacheKey(parent: string, payload: unknown): string {
  return sha256Hex(`${parent}\n${JSON.stringify(payload)}`);
}

/** The key a stage starts from: its base image's manifest digest, `scratch`, or the final key of a base stage. */
export function baseCacheKey(base: { manifestDigest?: string; stageKey?: string }): string {
  if (base.stageKey) return base.stageKey;
  return stepCacheKey('devenv-build-v1', { from: base.manifestDigest ?? 'scratch' });
}
