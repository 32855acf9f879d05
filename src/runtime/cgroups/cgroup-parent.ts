import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';

import { DevenvError } from '../../errors.js';
import {
  CGROUP_CONTROLLERS,
  type CgroupController,
  type CgroupSetup,
  type ControllerStatus,
} from './cgroup-manager.js';
import {
  type CgroupHierarchy,
  type CgroupMounts,
  cgroupPathToDirectory,
  DEFAULT_CGROUP_ROOT,
  DEFAULT_PROC_ROOT,
  detectCgroupMounts,
  parseProcCgroup,
} from './detect-cgroup-mode.js';

/** Where to look and who we are; everything is injectable so unit tests can use fake trees. */
export interface CgroupSetupOptions {
  /** Default /sys/fs/cgroup. Mount points under /sys/fs/cgroup in mountinfo are rebased onto it. */
  cgroupRoot?: string;
  /** Default /proc (reads `self/mountinfo` and `self/cgroup`). */
  procRoot?: string;
  /** The user to resolve the setup for (default: the current process's uid). 0 means root. */
  uid?: number;
  username?: string;
  /**
   * The user's primary group, for group-writable cgroup directories. Default: the current process's gid when `uid` is
   * the current process's uid, else none (group write permission then never counts).
   */
  gid?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * devenv's parent cgroup, relative to each hierarchy root. Default: `DEVENV_CGROUP_PARENT`, else `devenv` as
   * root, `devenv-<username>` rootless on v1, and `devenv` under the delegated subtree rootless on v2.
   */
  parent?: string;
}

/** Environment variable overriding devenv's parent cgroup (relative to each hierarchy root). */
export const CGROUP_PARENT_ENV = 'DEVENV_CGROUP_PARENT';

/** Validate a parent given by the user: relative, no `..`, no empty segments. */
export function validateCgroupParent(parent: string, source: string): string {
  const segments = parent.split('/');
  if (
    parent === '' ||
    parent.startsWith('/') ||
    segments.some((s) => s === '' || s === '.' || s === '..' || !/^[A-Za-z0-9_.@:-]+$/.test(s))
  ) {
    throw new DevenvError('CONFIG_INVALID', `${source} \`${parent}\`: must be a relative cgroup path such as \`devenv\` without \`..\``);
  }
  return parent;
}

function currentUsername(uid: number, env: NodeJS.ProcessEnv): string {
  try {
    if (uid === process.getuid?.()) return userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back to the environment.
  }
  return env.USER || env.LOGNAME || String(uid);
}

/** Whom writability is judged for: the user the setup is resolved for, not necessarily the calling process. */
interface CgroupUser {
  uid: number;
  gid: number | undefined;
}

/**
 * Whether `user` may write to `path`. For root, ask the kernel (access(2) as the calling process when that is
 * root; root is not subject to permission bits, so only a read-only file system or an immutable file refuses
 * otherwise). For any other user, judge from the owner, group and mode as the kernel would (owner bits if the
 * user owns it, else group bits if its group is the user's `gid`, else the other bits); a read-only file system
 * or an immutable file refuses whoever asks. access(2) alone would answer for the calling process: as root, every
 * directory would look writable by every user.
 */
function isWritableBy(path: string, user: CgroupUser): boolean {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return false;
  }
  let refusedCode: string | undefined;
  try {
    accessSync(path, constants.W_OK);
  } catch (error) {
    refusedCode = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
  }
  // Checked by the kernel before any permission bits: they refuse every user, root included.
  if (refusedCode === 'EROFS' || refusedCode === 'EPERM') return false;
  if (user.uid === 0) {
    // As root, the kernel's answer is final; a non-root caller's EACCES does not apply to root.
    return refusedCode === undefined || (refusedCode === 'EACCES' && process.getuid?.() !== 0);
  }
  if (stats.uid === user.uid) return (stats.mode & 0o200) !== 0;
  if (user.gid !== undefined && stats.gid === user.gid) return (stats.mode & 0o020) !== 0;
  return (stats.mode & 0o002) !== 0;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The nearest existing directory at or above `path`, not going above `top`. */
function nearestExistingDirectory(path: string, top: string): string {
  let current = path;
  while (current !== top && !isDirectory(current)) {
    const up = dirname(current);
    if (up === current || relative(top, up).startsWith('..')) return top;
    current = up;
  }
  return current;
}

function readControllersFile(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./@:=-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * Work out, without writing anything, which of memory, cpu and pids the current user can limit, where devenv's
 * parent cgroup is, and how to fix what is missing.
 */
export function resolveCgroupSetup(options: CgroupSetupOptions = {}): CgroupSetup {
  const env = options.env ?? process.env;
  const cgroupRoot = options.cgroupRoot ?? DEFAULT_CGROUP_ROOT;
  const procRoot = options.procRoot ?? DEFAULT_PROC_ROOT;
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const username = options.username ?? currentUsername(uid, env);
  const gid = options.gid ?? (uid === process.getuid?.() ? process.getgid?.() : undefined);
  const override =
    options.parent !== undefined
      ? validateCgroupParent(options.parent, 'cgroup parent')
      : env[CGROUP_PARENT_ENV]
        ? validateCgroupParent(env[CGROUP_PARENT_ENV], CGROUP_PARENT_ENV)
        : undefined;
  const mounts = detectCgroupMounts({ procRoot, cgroupRoot });
  const context: ResolveContext = { mounts, user: { uid, gid }, username, rootless: uid !== 0, override, procRoot };
  if (mounts.mode === 'v2' && mounts.v2) return resolveV2(context, mounts.v2);
  if (mounts.mode === 'none') {
    return {
      mode: 'none',
      version: 1,
      rootless: context.rootless,
      controllers: CGROUP_CONTROLLERS.map((controller) => ({
        controller,
        usable: false,
        reason: 'no cgroup filesystem is mounted',
      })),
      parents: [],
      fix: `sudo mount -t cgroup2 none ${cgroupRoot}`,
    };
  }
  return resolveV1(context);
}

interface ResolveContext {
  mounts: CgroupMounts;
  /** The user the setup is for (`options.uid`, `options.gid`): every ownership and writability check is for them. */
  user: CgroupUser;
  username: string;
  rootless: boolean;
  override: string | undefined;
  procRoot: string;
}

function resolveV1(context: ResolveContext): CgroupSetup {
  const { mounts, user, rootless, username, override } = context;
  const parentName = override ?? (rootless ? `devenv-${username}` : 'devenv');
  const controllers: ControllerStatus[] = [];
  const toDelegate: string[] = [];
  for (const controller of CGROUP_CONTROLLERS) {
    const hierarchy = mounts.v1.find((h) => h.controllers.includes(controller));
    if (!hierarchy) {
      controllers.push({
        controller,
        usable: false,
        reason:
          mounts.mode === 'hybrid'
            ? `the ${controller} controller is not mounted as cgroup v1 (devenv uses only the v1 hierarchies in hybrid mode)`
            : `the ${controller} controller is not mounted`,
      });
      continue;
    }
    const parent = join(hierarchy.mountPoint, parentName);
    if (rootless) {
      if (isDirectory(parent) && isWritableBy(parent, user)) {
        controllers.push({ controller, usable: true, parent });
      } else {
        toDelegate.push(parent);
        controllers.push({
          controller,
          usable: false,
          parent,
          reason: isDirectory(parent)
            ? `\`${parent}\` is not writable by ${username}`
            : `no cgroup delegation for ${username} (no \`${parentName}\` directory)`,
        });
      }
      continue;
    }
    const anchor = nearestExistingDirectory(parent, hierarchy.mountPoint);
    if (isWritableBy(anchor, user)) controllers.push({ controller, usable: true, parent });
    else controllers.push({ controller, usable: false, parent, reason: `\`${anchor}\` is not writable (read-only cgroup filesystem?)` });
  }
  const parents = [...new Set(controllers.filter((c) => c.usable).map((c) => c.parent as string))];
  const unique = [...new Set(toDelegate)];
  const fix =
    unique.length > 0
      ? [
          `sudo mkdir -p ${unique.map(shellQuote).join(' ')}`,
          `sudo chown -R ${shellQuote(username)}: ${unique.map(shellQuote).join(' ')}`,
          '(cgroup directories do not survive a reboot: put these commands in a boot script)',
        ].join('\n')
      : undefined;
  return { mode: mounts.mode, version: 1, rootless, controllers, parents, ...(fix ? { fix } : {}) };
}

const SYSTEMD_DELEGATE_FIX = [
  'sudo mkdir -p /etc/systemd/system/user@.service.d',
  "printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf",
  'sudo systemctl daemon-reload   # then log out and in again',
].join('\n');

/**
 * The highest directory at or above our own cgroup that the user owns and may write to (owner write bit): the
 * subtree delegated to us, where devenv can create its parent cgroup. Ownership and mode are those of the user the
 * setup is for (`options.uid`), never of the calling process.
 */
function findDelegatedAncestor(context: ResolveContext, hierarchy: CgroupHierarchy): { own: string; delegated?: string } {
  let text = '';
  try {
    text = readFileSync(join(context.procRoot, 'self', 'cgroup'), 'utf8');
  } catch {
    return { own: '?' };
  }
  const own = parseProcCgroup(text).find((e) => e.hierarchyId === 0 && e.controllers.length === 0)?.path ?? '?';
  const directory = cgroupPathToDirectory(hierarchy, own);
  if (!directory) return { own };
  let delegated: string | undefined;
  let current = directory;
  while (!relative(hierarchy.mountPoint, current).startsWith('..')) {
    let owner: number;
    let mode: number;
    try {
      ({ uid: owner, mode } = statSync(current));
    } catch {
      break;
    }
    // Only the bits here: a read-only file system is reported by the writability check of the chosen anchor.
    if (owner !== context.user.uid || (mode & 0o200) === 0) break;
    delegated = current;
    if (current === hierarchy.mountPoint) break;
    current = dirname(current);
  }
  return delegated ? { own, delegated } : { own };
}

function resolveV2(context: ResolveContext, hierarchy: CgroupHierarchy): CgroupSetup {
  const { user, rootless, username, override } = context;
  const unusable = (reason: string, fix?: string): CgroupSetup => ({
    mode: 'v2',
    version: 2,
    rootless,
    controllers: CGROUP_CONTROLLERS.map((controller) => ({ controller, usable: false, reason })),
    parents: [],
    ...(fix ? { fix } : {}),
  });

  let parent: string;
  if (override) parent = join(hierarchy.mountPoint, override);
  else if (!rootless) parent = join(hierarchy.mountPoint, 'devenv');
  else {
    const { own, delegated } = findDelegatedAncestor(context, hierarchy);
    if (!delegated) {
      return unusable(
        `no cgroup delegation for ${username}: our cgroup \`${own}\` is not owned and writable by ${username}`,
        `Run devenv inside a systemd user session, e.g. \`systemd-run --user --scope devenv …\`; if controllers are still missing:\n${SYSTEMD_DELEGATE_FIX}`,
      );
    }
    parent = join(delegated, 'devenv');
  }

  const anchor = nearestExistingDirectory(parent, hierarchy.mountPoint);
  const writable = isWritableBy(anchor, user) && isWritableBy(join(anchor, 'cgroup.subtree_control'), user);
  const available = readControllersFile(join(anchor, 'cgroup.controllers'));
  const controllers: ControllerStatus[] = CGROUP_CONTROLLERS.map((controller) => {
    if (!writable) return { controller, usable: false, parent, reason: `\`${anchor}\` is not writable by ${username}` };
    if (!available.includes(controller)) {
      return {
        controller,
        usable: false,
        parent,
        reason: rootless
          ? `the ${controller} controller is not delegated to \`${anchor}\``
          : `the ${controller} controller is not available in \`${anchor}\``,
      };
    }
    return { controller, usable: true, parent };
  });
  const usable = controllers.filter((c) => c.usable).map((c) => c.controller);
  const missing = controllers.some((c) => !c.usable);
  const fix = !missing ? undefined : rootless ? SYSTEMD_DELEGATE_FIX : writable ? undefined : `check that ${anchor} is mounted read-write`;
  return {
    mode: 'v2',
    version: 2,
    rootless,
    controllers,
    parents: writable ? [parent] : [],
    v2Controllers: usable as CgroupController[],
    v2WritableRoot: anchor,
    ...(fix ? { fix } : {}),
  };
}
