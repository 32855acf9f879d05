import { DevenvError } from '../../errors.js';
import type { Descriptor, Platform } from '../types.js';

/** Node's `process.arch` → OCI architecture (and the variant devenv assumes for it). */
const NODE_ARCH: Record<string, Platform['architecture']> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  i686: '386',
};

/** The platform containers on this host run: linux, with process.arch mapped (x64→amd64, arm64→arm64/v8, arm→arm/v7). */
export function hostPlatform(arch: string = process.arch): Platform {
  const architecture = NODE_ARCH[arch] ?? arch;
  if (architecture === 'arm64') return { os: 'linux', architecture, variant: 'v8' };
  if (architecture === 'arm') return { os: 'linux', architecture, variant: 'v7' };
  return { os: 'linux', architecture };
}

/** Canonical spelling: aliases resolved (aarch64 → arm64, armhf → arm/v7), arm64 gets v8 and arm v7 when no variant is given. */
export function normalizePlatform(platform: Platform): Platform {
  const os = platform.os.toLowerCase();
  const rawArch = platform.architecture.toLowerCase();
  const architecture = ARCH_ALIASES[rawArch] ?? rawArch;
  let variant = platform.variant?.toLowerCase() || undefined;
  if (rawArch === 'armel' && variant === undefined) variant = 'v6';
  if (architecture === 'arm64' && (variant === undefined || variant === '8')) variant = 'v8';
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  if (architecture === 'arm' && /^[5-8]$/.test(variant ?? '')) variant = `v${variant}`;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** `linux/arm64/v8`, `linux/amd64`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter((part) => part).join('/');
}

/** Parse `os/arch[/variant]` (or just `arch`, meaning linux/arch), as `--platform` takes it. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  const valid = parts.length >= 1 && parts.length <= 3 && parts.every((part) => /^[A-Za-z0-9_.-]+$/.test(part));
  if (!valid) {
    throw new DevenvError('USAGE', `invalid platform \`${text}\`: expected os/arch[/variant]`, {
      hint: 'For example linux/amd64, linux/arm64 or linux/arm/v7.',
    });
  }
  const [first = '', second, third] = parts;
  const platform = second === undefined ? { os: 'linux', architecture: first } : { os: first, architecture: second, ...(third ? { variant: third } : {}) };
  return normalizePlatform(platform);
}

/** Variants a CPU of variant `wanted` runs, best first (an armv7 CPU runs v7, v6 and v5 code). */
function compatibleVariants(architecture: string, wanted: string | undefined): (string | undefined)[] {
  if (architecture === 'arm') {
    const order = ['v8', 'v7', 'v6', 'v5'];
    const start = order.indexOf(wanted ?? 'v7');
    return start < 0 ? [wanted] : order.slice(start);
  }
  if (architecture === 'amd64') {
    const order = ['v4', 'v3', 'v2', undefined];
    const start = order.indexOf(wanted);
    return start < 0 ? [wanted] : order.slice(start);
  }
  return [wanted];
}

/** Rank of `candidate` for a host of platform `wanted`: 0 is a perfect match, undefined means it cannot run. */
export function platformMatchRank(wanted: Platform, candidate: Platform): number | undefined {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return undefined;
  const rank = compatibleVariants(w.architecture, w.variant).indexOf(c.variant);
  return rank < 0 ? undefined : rank;
}

function isAttestation(descriptor: Descriptor): boolean {
  return descriptor.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || descriptor.platform?.os === 'unknown';
}

/**
 * The best manifest of an index for `wanted` (exact variant first, then older compatible variants; the first of
 * equals). Throws REGISTRY_NOT_FOUND listing the platforms the index has when none fits; `operation` prefixes the
 * message (``pull `debian:12` ``).
 */
export function selectPlatformManifest(manifests: Descriptor[], wanted: Platform, operation: string): Descriptor {
  let best: { descriptor: Descriptor; rank: number } | undefined;
  for (const descriptor of manifests) {
    if (!descriptor.platform || isAttestation(descriptor)) continue;
    const rank = platformMatchRank(wanted, descriptor.platform);
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { descriptor, rank };
  }
  if (best) return best.descriptor;
  const available = [
    ...new Set(manifests.filter((d) => d.platform && !isAttestation(d)).map((d) => formatPlatform(d.platform as Platform))),
  ];
  const listed = available.length > 0 ? `available: ${available.join(', ')}` : 'the index lists no platforms';
  throw new DevenvError('REGISTRY_NOT_FOUND', `${operation}: no manifest for ${formatPlatform(normalizePlatform(wanted))} in the image index (${listed})`, {
    hint: available.length > 0 ? `The image is not built for this platform; choose one of: ${available.join(', ')}.` : undefined,
  });
}
