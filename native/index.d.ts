// Types of native/build/Release/devenv_native.node (src/addon.cc). The TypeScript side loads the .node file
// itself (createRequire) and casts the result to DevenvNative.

/**
 * What every addon function throws on a failed syscall: an Error shaped like Node's own system errors.
 * `code` is the errno name ("EAGAIN"), `errno` its positive number (as in the runtime's sync-fd errors,
 * unlike Node's negative libuv numbers), `syscall` the failing call. Bad arguments throw TypeError/RangeError.
 */
export interface NativeSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

/** The addon's exports. */
export interface DevenvNative {
  /**
   * flock(2) the file open on `fd`: exclusive (LOCK_EX) or shared (LOCK_SH). Blocking calls wait (and block
   * the event loop) until the lock is granted. Returns true when locked, false when `nonBlocking` and another
   * open file description holds a conflicting lock. Unlock by closing the fd.
   */
  flock(fd: number, exclusive: boolean, nonBlocking: boolean): boolean;
  /** pidfd_open(2): a close-on-exec fd referring to `pid`; close it with fs.closeSync. Throws ESRCH when gone. */
  pidfdOpen(pid: number): number;
  /** pidfd_send_signal(2): send signal number `signal` (0 only checks the process is alive; ESRCH when it exited). */
  pidfdSendSignal(pidfd: number, signal: number): void;
  /**
   * posix_spawn `file` with `args` (argv[0] is `file`), stdio inherited or on /dev/null, and the write end of a
   * new pipe as fd 3. Returns the pid and the (close-on-exec) read end. Used on hot paths instead of
   * child_process, whose loading costs more than the container start.
   */
  spawnWithSync(file: string, args: string[], inheritStdio: boolean): { pid: number; syncFd: number };
  /** Block until child `pid` ends; its exit code, or 128+signal when a signal killed it. */
  waitExit(pid: number): number;
  /**
   * Connect a stream socket from inside the namespaces of `pid` (a running container's init): a forked helper
   * joins pid's user namespace (when it is not ours), then its network namespace (`tcp4`/`tcp6`: `address` is
   * an IP literal) or its mount namespace (`unix`: `address` is a path in the container's filesystem), connects
   * within `timeoutMs`, and passes the socket back. Resolves with a close-on-exec fd (wrap it with
   * `new net.Socket({ fd })`); rejects with a NativeSystemError (`ECONNREFUSED`, `ENOENT`, `ETIMEDOUT`…).
   */
  connectInContainer(pid: number, family: 'tcp4' | 'tcp6' | 'unix', address: string, port: number, timeoutMs: number): Promise<number>;
  /** A new host pseudo-terminal pair, both fds close-on-exec and O_NOCTTY, with the given size (0: unset). */
  openHostPty(rows: number, cols: number): { master: number; slave: number };
  /** TIOCSWINSZ on `fd` (a pty master or slave). */
  setWinsize(fd: number, rows: number, cols: number): void;
  /** lgetxattr(2): the value of attribute `name` of `path` (a symlink itself is read), or null when it has none. */
  getXattr(path: string, name: string): Buffer | null;
  /** llistxattr(2): the attribute names of `path` (a symlink itself is read); empty when the file system keeps none. */
  listXattrs(path: string): string[];
}

export declare function flock(fd: number, exclusive: boolean, nonBlocking: boolean): boolean;
export declare function pidfdOpen(pid: number): number;
export declare function pidfdSendSignal(pidfd: number, signal: number): void;
export declare function spawnWithSync(file: string, args: string[], inheritStdio: boolean): { pid: number; syncFd: number };
export declare function waitExit(pid: number): number;
export declare function connectInContainer(pid: number, family: 'tcp4' | 'tcp6' | 'unix', address: string, port: number, timeoutMs: number): Promise<number>;
export declare function openHostPty(rows: number, cols: number): { master: number; slave: number };
export declare function setWinsize(fd: number, rows: number, cols: number): void;
export declare function getXattr(path: string, name: string): Buffer | null;
export declare function listXattrs(path: string): string[];
