/**
 * The fingerprint of an environment: one sha256 over a canonical JSON document of what makes it up — the base
 * image's digest, each Feature's digest and option values in install order, and the merged config with nothing
 * machine-specific in it. Same project, same digests → same fingerprint on any machine and store. Pure.
 */
import { createHash } from 'node:crypto';

/** Bumped when the document's shape changes, so old and new fingerprints never collide by accident. */
export const FINGERPRINT_VERSION = 1;

/** One Feature as fingerprinted. */
export interface FingerprintFeature {
  /** OCI registry/repository, tarball URL, or the local path as written (relative to devcontainer.json). */
  source: string;
  digest: string;
  values: Record<string, string | boolean>;
}

/** Everything the fingerprint covers. */
export interface FingerprintInput {
  /** The base image: `registry/repository@sha256:…`, or for a Dockerfile config a description with its digests. */
  baseImage: unknown;
  features: FingerprintFeature[];
  /** The merged config, machine-independent (see docs/features.md). */
  config: unknown;
}

/**
 * JSON with object keys sorted (by UTF-16 code units, not locale), no whitespace, `undefined` members dropped:
 * the same value always gives the same text.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (value === undefined || typeof value === 'function') return 'null';
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** The document that is hashed (printed by `devenv fingerprint --json` so differences can be found). */
export function fingerprintDocument(input: FingerprintInput): Record<string, unknown> {
  return { version: FINGERPRINT_VERSION, baseImage: input.baseImage, features: input.features, config: input.config };
}

/** `sha256:<hex>` of the canonical document. */
export function computeFingerprint(input: FingerprintInput): string {
  return `sha256:${createHash('sha256').update(canonicalJson(fingerprintDocument(input))).digest('hex')}`;
}
