import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { DevenvError, toDevenvError } from '../../errors.js';
import { familiarName, formatReference, parseImageReference } from '../../image/reference.js';
import { formatPlatform } from '../../image/registry/platform.js';
import {
  checkMirror,
  DEFAULT_DEBIAN_MIRROR,
  hostArchitectures,
  packageTarballName,
  parseBootstrapTarget,
  pathWithSbin,
  proxyEnvironment,
  resolveCacheDir,
  type BootstrapVariant,
} from './bootstrap-host.js';
import { bootstrapImageConfig, writeOciLayout } from './bootstrap-layout.js';
import { checkBootstrapHost, readAptProxy } from './bootstrap-preflight.js';
import { runBootstrapScript, type BootstrapProgress } from './bootstrap-run.js';
import { isRootless, openStoreFor, type ImageServiceContext } from './image-context.js';
import { importImage } from './import.js';

export type { BootstrapProgress } from './bootstrap-run.js';

/** What `devenv image bootstrap` is asked to build. */
export interface BootstrapOptions {
  /** `debian:bookworm` (default), `debian:trixie`, `debian:12` … the tag is the Debian suite. */
  target?: string;
  /** Debian mirror (default http://deb.debian.org/debian). */
  mirror?: string;
  /** debootstrap variant (default minbase, the size of Docker's debian image). */
  variant?: BootstrapVariant;
  /** The reference to store the image under (default: `target`, e.g. docker.io/library/debian:bookworm). */
  tag?: string;
  /** Build and replace the image even when the store has one under this name. */
  force?: boolean;
  /** Download the packages again instead of using the cached package tarball. */
  refresh?: boolean;
  /** Where the package tarballs are kept (default: devenv's cache dir, `resolveCacheDir`). */
  cacheDir?: string;
  /** Progress lines (the command prints them on stderr). */
  onProgress?: (event: BootstrapProgress) => void;
  env?: NodeJS.ProcessEnv;
}

/** What `image bootstrap` did; its `--json` form. */
export interface BootstrapResult {
  /** The normalised reference the image is stored under. */
  reference: string;
  /** The store already had the image and nothing was built (no --force). */
  alreadyPresent: boolean;
  manifestDigest: string;
  configDigest: string;
  suite: string;
  variant?: BootstrapVariant;
  platform?: string;
  mirror?: string;
  /** The debootstrap package tarball and whether it was reused (no download). */
  packageCache?: { path: string; reused: boolean };
  layer?: { digest: string; size: number; diffId: string; tarSize: number };
  /** debootstrap ran in a user namespace (not root). */
  rootless?: boolean;
  durationMs: number;
}

const WORK_DIR = /^(?:work|layout)-(\d+)-[A-Za-z0-9]+$/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Folders of bootstrap runs whose process is gone (killed): work folders go to the script, layouts are removed here. */
function collectStale(dir: string): string[] {
  const stale: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = WORK_DIR.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    if (name.startsWith('layout-')) rmSync(join(dir, name), { recursive: true, force: true });
    else stale.push(join(dir, name));
  }
  return stale;
}

function sourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,12}$/.test(text)) {
    throw new DevenvError('USAGE', `image bootstrap: SOURCE_DATE_EPOCH \`${text}\` is not a number of seconds`, {
      hint: 'Set it to a Unix time, e.g. `SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`, or unset it.',
    });
  }
  return Number(text);
}

/**
 * Build a Debian base image with debootstrap from a Debian mirror and store it like a pulled image, so
 * `image: debian:bookworm` works where Docker Hub cannot be reached. The packages debootstrap downloads are kept
 * as a tarball in devenv's cache dir (a second bootstrap downloads nothing); the root file system becomes one
 * gzip layer (sorted, numeric owners, mtimes clamped to SOURCE_DATE_EPOCH when set) of an OCI layout that the
 * import service stores. Root runs debootstrap directly; other users in a user namespace (see bootstrap-preflight).
 */
export async function bootstrapImage(ctx: ImageServiceContext, options: BootstrapOptions = {}): Promise<BootstrapResult> {
  const started = Date.now();
  const env = options.env ?? process.env;
  const progress = options.onProgress ?? (() => undefined);
  const text = options.target ?? 'debian:bookworm';
  const target = parseBootstrapTarget(text);
  const reference = formatReference(parseImageReference(options.tag ?? text));
  const name = familiarName(parseImageReference(reference));
  const variant = options.variant ?? 'minbase';
  const mirror = checkMirror(options.mirror ?? DEFAULT_DEBIAN_MIRROR);
  const epoch = sourceDateEpoch(env);

  const store = openStoreFor(ctx);
  const existing = store.index.get(reference);
  if (existing && !options.force) {
    ctx.logger.debug(`image bootstrap: ${reference} is in the store (${existing.manifestDigest})`);
    return {
      reference,
      alreadyPresent: true,
      manifestDigest: existing.manifestDigest,
      configDigest: existing.configDigest,
      suite: target.suite,
      durationMs: Date.now() - started,
    };
  }

  const rootless = isRootless(ctx);
  const uid = process.getuid?.() ?? 0;
  const path = pathWithSbin(env.PATH);
  progress({ stage: 'check', message: `checking the host for debootstrap${rootless ? ' and a user namespace' : ''}` });
  const tools = checkBootstrapHost({ path, rootless, suite: target.suite, uid, warn: (m) => ctx.logger.warn(m) });
  const arch = hostArchitectures();

  const cacheRoot = join(options.cacheDir ?? resolveCacheDir(env, uid), 'debootstrap');
  let layoutDir: string | undefined;
  try {
    mkdirSync(cacheRoot, { recursive: true, mode: 0o755 });
    const mirrorHash = createHash('sha256').update(mirror).digest('hex').slice(0, 8);
    const tarball = join(cacheRoot, packageTarballName(target, arch.debian, variant, mirrorHash));
    const reused = !options.refresh && existsSync(tarball) && statSync(tarball).size > 0;
    const stale = collectStale(cacheRoot);
    const work = join(cacheRoot, `work-${process.pid}-${randomBytes(4).toString('hex')}`);
    layoutDir = mkdtempSync(join(cacheRoot, `layout-${process.pid}-`));
    if (reused) progress({ stage: 'download', message: `using the cached packages in ${tarball} (--no-cache downloads them again)` });

    const runEnv: NodeJS.ProcessEnv = {
      ...env,
      PATH: path,
      LC_ALL: 'C',
      ...proxyEnvironment(env, env.http_proxy || env.HTTP_PROXY ? undefined : readAptProxy(path)),
      // In a user namespace debootstrap cannot mknod its test node; as for an LXC container it then trusts the
      // target and uses the device nodes the script bind-mounted.
      ...(rootless ? { container: 'lxc' } : {}),
    };
    const layer = await runBootstrapScript({
      tools,
      rootless,
      layoutDir,
      env: runEnv,
      what: text,
      script: {
        work,
        tarball,
        download: !reused,
        suite: target.suite,
        variant,
        arch: arch.debian,
        mirror,
        rootless,
        sourceDateEpoch: epoch === undefined ? '' : String(epoch),
        stale,
      },
      onProgress: progress,
      onLine: (line) => ctx.logger.debug(`debootstrap: ${line}`),
    });

    const created = new Date((epoch ?? Math.floor(Date.now() / 1000)) * 1000).toISOString();
    const config = bootstrapImageConfig({
      diffId: layer.diffId,
      platform: arch.platform,
      created,
      createdBy: `devenv image bootstrap ${text} --variant ${variant} --mirror ${mirror} (debootstrap ${target.suite})`,
      labels: { 'org.opencontainers.image.title': `Debian ${target.suite}`, 'dev.devenv.bootstrap.mirror': mirror },
    });
    writeOciLayout(layoutDir, layer, config, reference, target.suite);
    progress({ stage: 'import', message: `storing the image as ${name}` });
    const imported = await importImage(ctx, layoutDir, { name: reference });
    const image = imported.images[0];
    if (!image) throw new DevenvError('INTERNAL', `image bootstrap \`${text}\`: the layout held no image`, { kind: 'bug' });
    return {
      reference,
      alreadyPresent: false,
      manifestDigest: image.manifestDigest,
      configDigest: image.configDigest,
      suite: target.suite,
      variant,
      platform: formatPlatform(arch.platform),
      mirror,
      packageCache: { path: tarball, reused },
      layer: { digest: layer.descriptor.digest, size: layer.descriptor.size, diffId: layer.diffId, tarSize: layer.tarSize },
      rootless,
      durationMs: Date.now() - started,
    };
  } catch (error) {
    throw toDevenvError(`image bootstrap \`${text}\``, error);
  } finally {
    if (layoutDir) rmSync(layoutDir, { recursive: true, force: true });
  }
}
