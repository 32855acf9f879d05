import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DevenvError } from '../errors.js';

/** The addon surface (typed in native/index.d.ts): the few syscalls Node lacks. */
export interface NativeAddon {
  flock(fd: number, exclusive: boolean, nonBlocking: boolean): boolean;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  spawnWithSync(file: string, args: string[], inheritStdio: boolean): { pid: number; syncFd: number };
  waitExit(pid: number): number;
  /** A stream socket connected from inside the namespaces of `pid` (a container's init): fd, or rejects with errno. */
  connectInContainer(pid: number, family: 'tcp4' | 'tcp6' | 'unix', address: string, port: number, timeoutMs: number): Promise<number>;
  /** A host pseudo-terminal pair (close-on-exec) of the given size. */
  openHostPty(rows: number, cols: number): { master: number; slave: number };
  setWinsize(fd: number, rows: number, cols: number): void;
  /** An extended attribute of `path` itself (lgetxattr), or null when it has none of that name. */
  getXattr(path: string, name: string): Buffer | null;
  /** The extended attribute names of `path` itself (llistxattr). */
  listXattrs(path: string): string[];
}

let root: string | undefined;

/** The package root: the nearest ancestor of this module with a package.json (src/, dist/ and the dist/fast/*.cjs bundles). */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  root = dir;
  return dir;
}

export function nativeBuildDir(): string {
  return process.env.DEVENV_NATIVE_DIR ?? join(packageRoot(), 'native', 'build', 'Release');
}

export function nativeNotBuilt(what: string): DevenvError {
  return new DevenvError('RUNTIME_NOT_BUILT', `the native ${what} is not built (${nativeBuildDir()})`, {
    kind: 'external',
    hint: 'Run `npm install` (or `npm rebuild`) in the devenv checkout; it needs g++, make, python3, libseccomp-dev, libjansson-dev and libarchive-dev.',
  });
}

let addon: NativeAddon | undefined;

/** Load devenv_native.node once. Locks (host/file-lock.ts) and the runtime launcher both use it. */
export function loadAddon(): NativeAddon {
  if (addon) return addon;
  const path = join(nativeBuildDir(), 'devenv_native.node');
  if (!existsSync(path)) throw nativeNotBuilt('addon');
  addon = createRequire(import.meta.url)(path) as NativeAddon;
  return addon;
}

/** Path of the single-threaded native executable (container runtime, exec, layer unpacker, remove-tree). */
export function runtimeBinary(): string {
  const path = join(nativeBuildDir(), 'devenv-runtime');
  if (!existsSync(path)) throw nativeNotBuilt('runtime');
  return path;
}
