/**
 * The one error type of devenv. Every failure that reaches the user is a DevenvError; the command layer
 * renders it once (a block on a terminal, `{"outcome":"error",…}` under --json).
 */
export type DevenvErrorCode =
  // usage and configuration
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'CONFIG_PARSE'
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_AMBIGUOUS'
  | 'CONFIG_UNREADABLE'
  | 'WORKSPACE_NOT_FOUND'
  // containers
  | 'CONTAINER_NOT_FOUND'
  | 'CONTAINER_NAME_IN_USE'
  | 'CONTAINER_STATE'
  | 'CONTAINER_LOCKED'
  | 'CONTAINER_EXEC_NOT_FOUND'
  | 'CONTAINER_EXEC_DENIED'
  | 'CONTAINER_TIMEOUT'
  // runtime and host
  | 'RUNTIME_NOT_BUILT'
  | 'RUNTIME_SETUP'
  | 'RUNTIME_PERMISSION'
  | 'RUNTIME_UNSUPPORTED'
  | 'CGROUP_UNAVAILABLE'
  | 'CGROUP_WRITE'
  | 'ROOTFS_INVALID'
  | 'USER_UNKNOWN'
  | 'IDMAP_MISSING'
  | 'STORE_IO'
  // images and registries
  | 'IMAGE_REFERENCE_INVALID'
  | 'REGISTRY_UNAUTHORIZED'
  | 'REGISTRY_NOT_FOUND'
  | 'REGISTRY_UNAVAILABLE'
  | 'REGISTRY_PROTOCOL'
  | 'DIGEST_MISMATCH'
  // image store (src/image/store, src/services/image)
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_IN_USE'
  | 'STORE_CORRUPT'
  | 'STORE_LOCKED'
  // layer unpacking (src/image/unpack; a runtime failure while unpacking reuses RUNTIME_SETUP)
  | 'LAYER_INVALID'
  // image archives: import/export (src/image/archive)
  | 'ARCHIVE_INVALID'
  | 'ARCHIVE_UNSUPPORTED'
  // dev container lifecycle (src/devcontainer/lifecycle, src/devcontainer/config/host-requirements.ts)
  | 'LIFECYCLE_FAILED'
  | 'LIFECYCLE_ENV_PROBE'
  | 'HOST_TOO_SMALL'
  // Dev Container features, the lockfile and the fingerprint (src/devcontainer/features, src/services/features)
  | 'FEATURE_INVALID'
  | 'FEATURE_NOT_FOUND'
  | 'FEATURE_CYCLE'
  | 'LOCKFILE_INVALID'
  | 'LOCKFILE_DRIFT'
  | 'FINGERPRINT_MISMATCH'
  // image builds (src/image/build, src/services/image/build*.ts): a Dockerfile problem at a line, a failed RUN
  | 'BUILD_DOCKERFILE'
  | 'BUILD_STEP_FAILED'
  // volumes (src/volumes, src/services/volume)
  | 'VOLUME_NOT_FOUND'
  | 'VOLUME_IN_USE'
  // port forwarding (src/runtime/ports, src/services/container/ports.ts)
  | 'PORT_IN_USE'
  | 'PORT_FORWARD'
  // private networking (src/runtime/network, native/src/network.c): the egress helper is missing or failed
  | 'NETWORK_SETUP'
  | 'INTERNAL';

/** Who has to act: the user (bad input), something outside devenv (kernel, registry), or us (a bug). */
export type DevenvErrorKind = 'user' | 'external' | 'bug';

export interface DevenvErrorOptions {
  kind?: DevenvErrorKind;
  hint?: string;
  cause?: unknown;
  /** Process exit code to use when this error ends a command (default 1; usage errors 2; runtime 125–127). */
  exitCode?: number;
}

export class DevenvError extends Error {
  readonly code: DevenvErrorCode;
  readonly kind: DevenvErrorKind;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: DevenvErrorCode, message: string, options: DevenvErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DevenvError';
    this.code = code;
    this.kind = options.kind ?? (code === 'INTERNAL' ? 'bug' : 'user');
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? (code === 'USAGE' ? 2 : 1);
  }

  /** The machine-readable form printed under --json. */
  toJSON(): { outcome: 'error'; code: DevenvErrorCode; kind: DevenvErrorKind; message: string; hint?: string } {
    return {
      outcome: 'error',
      code: this.code,
      kind: this.kind,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
    };
  }
}

/** Shape of errors thrown by Node's fs/child_process and by our native addon. */
export interface ErrnoLike {
  code: string;
  errno?: number;
  syscall?: string;
  path?: string;
  message?: string;
}

export function isErrnoLike(value: unknown): value is ErrnoLike {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string';
}

export function isErrnoCode(value: unknown, code: string): boolean {
  return isErrnoLike(value) && value.code === code;
}

/**
 * The one table that turns an errno-shaped failure into a DevenvError. `operation` names what we were doing
 * ("create cgroup `/sys/fs/cgroup/memory/devenv/x`"); the message never depends on the error's text.
 */
export function errnoToDevenvError(operation: string, error: ErrnoLike): DevenvError {
  const where = error.path ? ` (${error.path})` : '';
  const call = error.syscall ? `${error.syscall}: ` : '';
  const message = `${operation}: ${call}${error.code}${where}`;
  switch (error.code) {
    case 'EPERM':
    case 'EACCES':
      return new DevenvError('RUNTIME_PERMISSION', message, {
        kind: 'external',
        hint: 'Run `devenv doctor` to see which kernel feature or permission is missing.',
        cause: error,
      });
    case 'ENOENT':
    case 'ENOTDIR':
      return new DevenvError('STORE_IO', message, { kind: 'external', cause: error });
    case 'ENOSPC':
    case 'EDQUOT':
      return new DevenvError('STORE_IO', message, { kind: 'external', hint: 'Free some disk space.', cause: error });
    case 'EBUSY':
      return new DevenvError('STORE_IO', message, {
        kind: 'external',
        hint: 'Something still uses it; retry, or run `devenv container rm -f` on the container.',
        cause: error,
      });
    default:
      return new DevenvError('INTERNAL', message, { kind: 'bug', cause: error });
  }
}

/** Wrap any thrown value: DevenvErrors pass through, errno-shaped errors go through the table, the rest are bugs. */
export function toDevenvError(operation: string, error: unknown): DevenvError {
  if (error instanceof DevenvError) return error;
  if (isErrnoLike(error) && /^E[A-Z0-9]+$/.test(error.code)) return errnoToDevenvError(operation, error);
  const text = error instanceof Error ? error.message : String(error);
  return new DevenvError('INTERNAL', `${operation}: ${text}`, { kind: 'bug', cause: error });
}
