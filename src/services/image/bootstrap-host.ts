import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

import { DevenvError } from '../../errors.js';
import { hostPlatform } from '../../image/registry/platform.js';
import type { Platform } from '../../image/types.js';

/** What `devenv image bootstrap` builds: a distribution and its suite (`debian:bookworm`). */
export interface BootstrapTarget {
  distribution: 'debian';
  /** The debootstrap suite (codename): `bookworm`, `trixie`, `sid` … */
  suite: string;
}

/** The debootstrap variants devenv offers; `default` is debootstrap's own (no --variant). */
export const BOOTSTRAP_VARIANTS = ['minbase', 'buildd', 'default'] as const;
export type BootstrapVariant = (typeof BOOTSTRAP_VARIANTS)[number];

export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

/** Debian release numbers users write as tags (`debian:12`) → codenames. */
const DEBIAN_VERSIONS: Record<string, string> = { '10': 'buster', '11': 'bullseye', '12': 'bookworm', '13': 'trixie', '14': 'forky' };
const SUITE = /^[a-z][a-z0-9-]{1,30}$/;

/**
 * `debian:bookworm` (or `debian:12`, `debian`) → what to bootstrap. The tag is the suite, as on Docker Hub's
 * `debian` image; tags there that are not suites (`bookworm-slim`, `latest`) are refused with a hint.
 */
export function parseBootstrapTarget(text: string): BootstrapTarget {
  const [name, tag, ...rest] = text.trim().split(':');
  const usage = (why: string): DevenvError =>
    new DevenvError('USAGE', `image bootstrap \`${text}\`: ${why}`, {
      hint: 'Name a Debian suite: `devenv image bootstrap debian:bookworm` (also debian:trixie, debian:12, debian:sid); --tag names the image.',
    });
  if (rest.length > 0 || (name !== 'debian' && name !== 'docker.io/library/debian' && name !== 'library/debian')) {
    throw usage('devenv bootstraps Debian only (from a Debian apt mirror with debootstrap)');
  }
  const suite = tag === undefined || tag === '' ? 'bookworm' : (DEBIAN_VERSIONS[tag] ?? tag);
  if (suite === 'latest') return { distribution: 'debian', suite: 'stable' };
  if (!SUITE.test(suite) || suite.endsWith('-slim')) throw usage(`\`${tag ?? ''}\` is not a Debian suite`);
  return { distribution: 'debian', suite };
}

/** The architecture names of the host: Debian's (for debootstrap --arch) and the OCI platform (for the image). */
export function hostArchitectures(nodeArch: string = process.arch): { debian: string; platform: Platform } {
  const debian: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'armhf', ia32: 'i386', ppc64: 'ppc64el', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
  const name = debian[nodeArch];
  if (!name) {
    throw new DevenvError('RUNTIME_UNSUPPORTED', `image bootstrap: no Debian architecture for this host's \`${nodeArch}\``, { kind: 'external' });
  }
  return { debian: name, platform: hostPlatform(nodeArch) };
}

/** A mirror URL debootstrap can use: http(s) or file, no spaces. */
export function checkMirror(mirror: string): string {
  let url: URL;
  try {
    url = new URL(mirror);
  } catch {
    url = new URL('invalid:');
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol) || /\s/.test(mirror)) {
    throw new DevenvError('USAGE', `image bootstrap: --mirror \`${mirror}\` is not an http(s):// or file:// URL`, {
      hint: `The default is ${DEFAULT_DEBIAN_MIRROR}; a local mirror or apt cache proxy works too (e.g. http://apt-cacher:3142/debian).`,
    });
  }
  return mirror.replace(/\/+$/, '');
}

/**
 * devenv's cache directory (kept apart from the store: safe to delete, shared by all stores of a user):
 * `DEVENV_CACHE_DIR`, else `/var/cache/devenv` for root and `$XDG_CACHE_HOME/devenv` (`~/.cache/devenv`) otherwise.
 */
export function resolveCacheDir(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string {
  if (env.DEVENV_CACHE_DIR) return env.DEVENV_CACHE_DIR;
  if (uid === 0) return '/var/cache/devenv';
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'devenv');
}

/** The proxy variables debootstrap's wget reads; an apt proxy from apt's configuration when none is set. */
export function proxyEnvironment(env: NodeJS.ProcessEnv, aptProxy: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']) {
    const value = env[name];
    if (value) out[name] = value;
  }
  if (!out.http_proxy && env.HTTP_PROXY) out.http_proxy = env.HTTP_PROXY;
  if (!out.https_proxy && env.HTTPS_PROXY) out.https_proxy = env.HTTPS_PROXY;
  if (!out.http_proxy && aptProxy && /^https?:\/\//.test(aptProxy)) out.http_proxy = aptProxy;
  return out;
}

/** `Acquire::http::Proxy "…";` from `apt-config dump` output (undefined when apt has none, or `DIRECT`). */
export function parseAptProxy(aptConfigDump: string): string | undefined {
  const m = /^Acquire::http::Proxy "([^"]*)";$/m.exec(aptConfigDump);
  const value = m?.[1];
  return value && value !== 'DIRECT' && value !== 'false' ? value : undefined;
}

/** A PATH that also has the sbin directories (debootstrap lives in /usr/sbin, often not on a user's PATH). */
export function pathWithSbin(path: string | undefined): string {
  const parts = (path ?? '').split(delimiter).filter((p) => p !== '');
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (!parts.includes(dir)) parts.push(dir);
  return parts.join(delimiter);
}

/** The first executable `name` on `path`, or undefined. */
export function findExecutable(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      if (existsSync(candidate)) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // not executable: keep looking
    }
  }
  return undefined;
}

/** The file name of the cached package tarball for one suite, architecture and variant from one mirror. */
export function packageTarballName(target: BootstrapTarget, arch: string, variant: BootstrapVariant, mirrorHash: string): string {
  return `${target.distribution}-${target.suite}-${arch}-${variant}-${mirrorHash}.tgz`;
}
