import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { release, tmpdir, userInfo } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DevenvError } from '../errors.js';
import type { CgroupSetup } from '../runtime/cgroups/cgroup-manager.js';
import { resolveCgroupSetup } from '../runtime/cgroups/cgroup-parent.js';
import { parseSubIdFile, rangesForUser, type SubIdRange } from '../runtime/idmap.js';

export type DoctorStatus = 'ok' | 'warn' | 'fail';

/** One finding of `devenv doctor`. `fix` is what the user can run or do, when the status is not ok. */
export interface DoctorCheck {
  id: string;
  title: string;
  status: DoctorStatus;
  detail: string;
  fix?: string;
}

/** All findings; `outcome` is the worst status among them. */
export interface DoctorReport {
  outcome: DoctorStatus;
  checks: DoctorCheck[];
}

/** What a probe command did. */
export interface ProbeResult {
  ok: boolean;
  /** First line of stderr, or why it did not run (not found, timed out). */
  message: string;
  stdout: string;
}

/** The side effects the checks need; unit tests pass fakes. */
export interface DoctorProbes {
  run(command: string, args: string[]): ProbeResult;
  which(name: string): string | undefined;
}

/** Where to look; everything defaults to the real machine and the current user. */
export interface DoctorOptions {
  uid?: number;
  username?: string;
  env?: NodeJS.ProcessEnv;
  procRoot?: string;
  cgroupRoot?: string;
  etcRoot?: string;
  devRoot?: string;
  /** devenv's package root (holds native/build/Release); default: found from this file. */
  packageRoot?: string;
  /** The store root: overlay is tried on its filesystem when it exists. */
  storeRoot?: string;
  probes?: DoctorProbes;
}

const PROBE_TIMEOUT_MS = 5_000;
/** overlayfs accepts `userxattr` (needed in a user namespace) since Linux 5.11. */
export const MIN_KERNEL_FOR_USERXATTR: readonly number[] = [5, 11];
const WANTED_SUBIDS = 65_536;

/** Probes that run real commands, each time-limited. */
export function createSystemProbes(env: NodeJS.ProcessEnv = process.env): DoctorProbes {
  return {
    run(command, args) {
      const result = spawnSync(command, args, { timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL', encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const stdout = result.stdout ?? '';
      if (result.error) {
        const code = (result.error as NodeJS.ErrnoException).code;
        return { ok: false, stdout, message: code === 'ETIMEDOUT' ? `timed out after ${PROBE_TIMEOUT_MS / 1000} s` : `${command}: ${code ?? result.error.message}` };
      }
      const firstLine = (result.stderr ?? '').trim().split('\n')[0] ?? '';
      if (result.status === 0) return { ok: true, stdout, message: firstLine };
      return { ok: false, stdout, message: firstLine || (result.signal ? `killed by ${result.signal}` : `exit status ${result.status}`) };
    },
    which(name) {
      const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
      for (const dir of dirs) {
        if (!dir) continue;
        const path = join(dir, name);
        try {
          accessSync(path, constants.X_OK);
          if (statSync(path).isFile()) return path;
        } catch {
          // not here
        }
      }
      return undefined;
    },
  };
}

/** "6.18.44-fc-v669" → [6, 18, 44]. */
export function parseKernelVersion(text: string): number[] {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  if (!match) return [];
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

/** Negative, zero or positive like a sort comparator; missing parts count as 0. */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A free 65536-id range for `usermod --add-subuids`: 100000-165535 unless others already use it. */
export function suggestSubIdRange(ranges: readonly SubIdRange[]): string {
  const start = Math.max(100_000, ...ranges.map((r) => r.start + r.count));
  return `${start}-${start + WANTED_SUBIDS - 1}`;
}

/** The worst status among the checks. */
export function summarizeChecks(checks: readonly DoctorCheck[]): DoctorStatus {
  if (checks.some((c) => c.status === 'fail')) return 'fail';
  if (checks.some((c) => c.status === 'warn')) return 'warn';
  return 'ok';
}

/** The directory holding devenv's package.json, searched upwards from `fromUrl` (this module by default). */
export function findPackageRoot(fromUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'devenv') return dir;
    } catch {
      // keep climbing
    }
    const up = dirname(dir);
    if (up === dir) throw new DevenvError('INTERNAL', `find devenv's package root from \`${fromUrl}\`: no package.json named devenv above it`, { kind: 'bug' });
    dir = up;
  }
}

interface Context {
  uid: number;
  rootless: boolean;
  username: string;
  env: NodeJS.ProcessEnv;
  procRoot: string;
  cgroupRoot: string | undefined;
  etcRoot: string;
  devRoot: string;
  storeRoot: string | undefined;
  probes: DoctorProbes;
  sudo: string;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function checkKernel(ctx: Context): DoctorCheck {
  const text = readText(join(ctx.procRoot, 'sys/kernel/osrelease')) ?? release();
  const version = parseKernelVersion(text);
  const base = { id: 'kernel', title: 'Kernel version' };
  if (version.length === 0) return { ...base, status: 'warn', detail: `cannot parse kernel release \`${text}\`` };
  if (compareVersions(version, MIN_KERNEL_FOR_USERXATTR) >= 0) {
    return { ...base, status: 'ok', detail: `${text} (≥ 5.11: overlayfs with userxattr in user namespaces)` };
  }
  return {
    ...base,
    status: 'warn',
    detail: `${text} is older than 5.11: no overlayfs in user namespaces, rootless containers need fuse-overlayfs (slower)`,
    fix: 'Upgrade to a kernel ≥ 5.11, or install fuse-overlayfs.',
  };
}

function checkUserNamespaces(ctx: Context): DoctorCheck {
  const base = { id: 'userns', title: 'User namespaces' };
  const bad = ctx.rootless ? 'fail' : 'warn';
  const max = readText(join(ctx.procRoot, 'sys/user/max_user_namespaces'));
  if (max === '0') {
    return { ...base, status: bad, detail: 'disabled: user.max_user_namespaces = 0', fix: `${ctx.sudo}sysctl -w user.max_user_namespaces=28633` };
  }
  const sysctls: string[] = [];
  if (ctx.rootless && readText(join(ctx.procRoot, 'sys/kernel/unprivileged_userns_clone')) === '0') sysctls.push('kernel.unprivileged_userns_clone=1');
  if (ctx.rootless && readText(join(ctx.procRoot, 'sys/kernel/apparmor_restrict_unprivileged_userns')) === '1') sysctls.push('kernel.apparmor_restrict_unprivileged_userns=0');
  const fix = sysctls.length > 0 ? sysctls.map((s) => `${ctx.sudo}sysctl -w ${s}`).join('\n') : undefined;
  if (!ctx.probes.which('unshare')) {
    return { ...base, status: fix ? bad : 'warn', detail: `cannot try: \`unshare\` (util-linux) is not installed${max ? `; user.max_user_namespaces = ${max}` : ''}`, ...(fix ? { fix } : {}) };
  }
  const result = ctx.probes.run('unshare', ['--user', '--map-root-user', 'true']);
  if (result.ok) return { ...base, status: 'ok', detail: `\`unshare --user --map-root-user\` works${max ? ` (max ${max})` : ''}` };
  return { ...base, status: bad, detail: `\`unshare --user --map-root-user true\` failed: ${result.message}`, fix: fix ?? 'Enable unprivileged user namespaces in the kernel configuration (CONFIG_USER_NS).' };
}

function checkOverlay(ctx: Context): DoctorCheck {
  const base = { id: 'overlay', title: 'overlayfs in a user namespace' };
  if (!ctx.probes.which('unshare')) return { ...base, status: 'warn', detail: 'cannot try: `unshare` (util-linux) is not installed' };
  // Try on the filesystem the container upper dirs will live on, when the store exists and its path is mount-option safe.
  const where = ctx.storeRoot && existsSync(ctx.storeRoot) && /^[A-Za-z0-9_./@+-]+$/.test(ctx.storeRoot) ? ctx.storeRoot : tmpdir();
  let dir: string | undefined;
  try {
    dir = mkdtempSync(join(where, '.devenv-doctor-'));
    for (const sub of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'lower', 'probe'), 'x');
    const script = 'mount -t overlay overlay -o "lowerdir=$1/lower,upperdir=$1/upper,workdir=$1/work,userxattr" "$1/merged" && test -f "$1/merged/probe"';
    // The mount lives and dies with the probe's own mount namespace: nothing stays mounted.
    const result = ctx.probes.run('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', script, 'sh', dir]);
    if (result.ok) return { ...base, status: 'ok', detail: `mounts with userxattr (tried in ${where})` };
    const fuse = ctx.probes.which('fuse-overlayfs');
    return {
      ...base,
      status: fuse || !ctx.rootless ? 'warn' : 'fail',
      detail: `mount failed in ${where}: ${result.message}${fuse ? '; devenv falls back to fuse-overlayfs (slower)' : ''}`,
      fix: 'Use a kernel ≥ 5.11 and a store on ext4, xfs, btrfs or tmpfs; or install fuse-overlayfs.',
    };
  } catch (error) {
    return { ...base, status: 'warn', detail: `cannot prepare the probe in ${where}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function describeCgroups(setup: CgroupSetup): string {
  const mode = setup.mode === 'hybrid' ? 'hybrid (treated as v1)' : setup.mode;
  const usable = setup.controllers.filter((c) => c.usable).map((c) => c.controller);
  const parents = setup.parents.length > 0 ? ` under ${setup.parents.join(', ')}` : '';
  // Controllers usually fail for the same reason: say it once.
  const byReason = new Map<string, string[]>();
  for (const c of setup.controllers.filter((s) => !s.usable)) byReason.set(c.reason ?? 'unavailable', [...(byReason.get(c.reason ?? 'unavailable') ?? []), c.controller]);
  const missing = [...byReason].map(([reason, controllers]) => `${controllers.join(', ')}: ${reason}`);
  const head = `${mode}${setup.rootless ? ', rootless' : ''}; usable: ${usable.length > 0 ? usable.join(', ') : 'none'}${parents}`;
  return missing.length > 0 ? `${head}; ${missing.join('; ')}` : head;
}

function checkCgroups(ctx: Context): DoctorCheck {
  const base = { id: 'cgroups', title: 'cgroups (memory, cpu, pids)' };
  let setup: CgroupSetup;
  try {
    setup = resolveCgroupSetup({ uid: ctx.uid, username: ctx.username, env: ctx.env, procRoot: ctx.procRoot, ...(ctx.cgroupRoot ? { cgroupRoot: ctx.cgroupRoot } : {}) });
  } catch (error) {
    return { ...base, status: 'fail', detail: error instanceof DevenvError ? error.message : String(error) };
  }
  const allUsable = setup.controllers.every((c) => c.usable);
  const detail = describeCgroups(setup) + (allUsable ? '' : '; containers run without those limits');
  return { ...base, status: allUsable ? 'ok' : 'warn', detail, ...(setup.fix && !allUsable ? { fix: setup.fix } : {}) };
}

function hasSetidCapability(ctx: Context, path: string, cap: string): boolean {
  // Node cannot read security.capability xattrs; getcap (libcap2-bin) can, when installed.
  if (!ctx.probes.which('getcap')) return false;
  const result = ctx.probes.run('getcap', [path]);
  return result.ok && result.stdout.includes(cap);
}

function isSetuidRoot(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.uid === 0 && (stat.mode & 0o4000) !== 0;
  } catch {
    return false;
  }
}

function checkIdMapTools(ctx: Context): DoctorCheck {
  const base = { id: 'idmap-tools', title: 'newuidmap / newgidmap' };
  const found: string[] = [];
  const problems: string[] = [];
  for (const [name, cap] of [['newuidmap', 'cap_setuid'], ['newgidmap', 'cap_setgid']] as const) {
    const path = ctx.probes.which(name);
    if (!path) {
      problems.push(`${name} not found`);
      continue;
    }
    if (isSetuidRoot(path)) found.push(`${path} (setuid root)`);
    else if (hasSetidCapability(ctx, path, cap)) found.push(`${path} (${cap})`);
    else problems.push(`${path} is neither setuid root nor has ${cap}`);
  }
  if (problems.length === 0) return { ...base, status: 'ok', detail: found.join(', ') };
  if (!ctx.rootless) return { ...base, status: 'ok', detail: `not needed as root (${problems.join('; ')})` };
  return {
    ...base,
    status: 'fail',
    detail: [...problems, ...found].join('; '),
    fix: `${ctx.sudo}apt-get install uidmap   # Fedora: dnf install shadow-utils\n(or: ${ctx.sudo}chmod u+s /usr/bin/newuidmap /usr/bin/newgidmap)`,
  };
}

function checkSubIds(ctx: Context): DoctorCheck {
  const base = { id: 'subids', title: 'subordinate uid/gid ranges' };
  const describe = (ranges: SubIdRange[]): string => ranges.map((r) => `${r.start}-${r.start + r.count - 1}`).join(', ');
  const all = { uid: parseSubIdFile(readText(join(ctx.etcRoot, 'subuid')) ?? ''), gid: parseSubIdFile(readText(join(ctx.etcRoot, 'subgid')) ?? '') };
  const mine = { uid: rangesForUser(all.uid, { name: ctx.username, uid: ctx.uid }), gid: rangesForUser(all.gid, { name: ctx.username, uid: ctx.uid }) };
  const found = `subuid ${describe(mine.uid) || 'none'}, subgid ${describe(mine.gid) || 'none'}`;
  if (!ctx.rootless) return { ...base, status: 'ok', detail: `not needed as root (${found})` };
  const count = (ranges: SubIdRange[]): number => ranges.reduce((n, r) => n + r.count, 0);
  const range = suggestSubIdRange([...all.uid, ...all.gid]);
  const fix = `${ctx.sudo}usermod --add-subuids ${range} --add-subgids ${range} ${ctx.username}`;
  if (mine.uid.length === 0 || mine.gid.length === 0) {
    return { ...base, status: 'fail', detail: `${ctx.username} (uid ${ctx.uid}) has no range in ${join(ctx.etcRoot, mine.uid.length === 0 ? 'subuid' : 'subgid')} (${found})`, fix };
  }
  if (count(mine.uid) < WANTED_SUBIDS || count(mine.gid) < WANTED_SUBIDS) {
    return { ...base, status: 'warn', detail: `${found}: fewer than 65536 ids; images with files owned by high ids fail to unpack`, fix };
  }
  return { ...base, status: 'ok', detail: `${ctx.username}: ${found}` };
}

/** slirp4netns is the egress helper of the default `private` network mode (docs/networking.md says why not pasta). */
function checkNetworkHelpers(ctx: Context): DoctorCheck {
  const base = { id: 'network', title: 'slirp4netns (private networking)' };
  const found = ctx.probes.which('slirp4netns');
  if (found) return { ...base, status: 'ok', detail: found };
  return {
    ...base,
    status: 'warn',
    detail: 'not installed: the default `--network private` fails; containers can only use `--network host` or `none`',
    fix: `${ctx.sudo}apt-get install slirp4netns`,
  };
}

function checkFuseOverlayfs(ctx: Context, overlay: DoctorCheck): DoctorCheck {
  const base = { id: 'fuse-overlayfs', title: 'fuse-overlayfs and /dev/fuse' };
  const binary = ctx.probes.which('fuse-overlayfs');
  const device = join(ctx.devRoot, 'fuse');
  let deviceProblem: string | undefined;
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch (error) {
    deviceProblem = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `${device} does not exist` : `${device} is not readable and writable by ${ctx.username}`;
  }
  const problems = [...(binary ? [] : ['fuse-overlayfs is not installed']), ...(deviceProblem ? [deviceProblem] : [])];
  if (problems.length === 0) return { ...base, status: 'ok', detail: `${binary}, ${device}` };
  if (overlay.status === 'ok') return { ...base, status: 'ok', detail: `not needed, kernel overlayfs works (${problems.join('; ')})` };
  const fix = [
    ...(binary ? [] : [`${ctx.sudo}apt-get install fuse-overlayfs`]),
    ...(deviceProblem ? [`${ctx.sudo}modprobe fuse && ${ctx.sudo}chmod 0666 ${device}`] : []),
  ].join('\n');
  return { ...base, status: 'warn', detail: `${problems.join('; ')} (the fallback when kernel overlayfs cannot be used)`, fix };
}

function checkNativeRuntime(packageRoot: string): DoctorCheck {
  const base = { id: 'native-runtime', title: 'native runtime built' };
  const release = join(packageRoot, 'native', 'build', 'Release');
  const runtime = join(release, 'devenv-runtime');
  const addon = join(release, 'devenv_native.node');
  const missing: string[] = [];
  try {
    accessSync(runtime, constants.X_OK);
  } catch {
    missing.push(runtime);
  }
  if (!existsSync(addon)) missing.push(addon);
  if (missing.length === 0) return { ...base, status: 'ok', detail: runtime };
  return {
    ...base,
    status: 'fail',
    detail: `missing: ${missing.join(', ')}`,
    fix: `npm rebuild devenv   # in a checkout: npm install (needs a C compiler, musl-tools, libseccomp-dev, libjansson-dev and libarchive-dev)`,
  };
}

function currentUsername(uid: number, env: NodeJS.ProcessEnv): string {
  try {
    if (uid === process.getuid?.()) return userInfo().username;
  } catch {
    // no passwd entry
  }
  return env.USER || env.LOGNAME || String(uid);
}

/** Run every check. Each probe is cheap and time-limited; nothing is changed on the machine. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const ctx: Context = {
    uid,
    rootless: uid !== 0,
    username: options.username ?? currentUsername(uid, env),
    env,
    procRoot: options.procRoot ?? '/proc',
    cgroupRoot: options.cgroupRoot,
    etcRoot: options.etcRoot ?? '/etc',
    devRoot: options.devRoot ?? '/dev',
    storeRoot: options.storeRoot,
    probes: options.probes ?? createSystemProbes(env),
    sudo: uid === 0 ? '' : 'sudo ',
  };
  const overlay = checkOverlay(ctx);
  const checks = [
    checkKernel(ctx),
    checkUserNamespaces(ctx),
    overlay,
    checkCgroups(ctx),
    checkIdMapTools(ctx),
    checkSubIds(ctx),
    checkNetworkHelpers(ctx),
    checkFuseOverlayfs(ctx, overlay),
    checkNativeRuntime(options.packageRoot ?? findPackageRoot()),
  ];
  return { outcome: summarizeChecks(checks), checks };
}
