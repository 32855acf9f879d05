import { describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { DEFAULT_CAPABILITIES, resolveCapabilities } from '../../../../src/runtime/security/capabilities.js';
import {
  defaultSeccompProfile,
  seccompHostArch,
  type OciSeccomp,
  type OciSeccompArg,
  type SeccompHostArch,
} from '../../../../src/runtime/security/seccomp-profile.js';

// The OCI runtime spec's lists (config-linux.md), written out here rather than imported.
const OCI_ACTIONS = new Set([
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
]);
const OCI_OPS = new Set([
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
]);

const EPERM = 1;
const ENOSYS = 38;
const CLONE_THREAD_FLAGS = 0x3d0f00n; // what glibc's pthread_create passes
const CLONE_NEWUSER = 0x10000000n;
const CLONE_NEWNS = 0x20000n;
const CLONE_NEWCGROUP = 0x02000000n;
const SIGCHLD = 17n;

type Verdict = { action: 'allow' } | { action: 'errno'; errno: number } | { action: string };

function holds(arg: OciSeccompArg, values: readonly bigint[]): boolean {
  const actual = values[arg.index] ?? 0n;
  const value = BigInt(arg.value);
  switch (arg.op) {
    case 'SCMP_CMP_NE':
      return actual !== value;
    case 'SCMP_CMP_LT':
      return actual < value;
    case 'SCMP_CMP_LE':
      return actual <= value;
    case 'SCMP_CMP_EQ':
      return actual === value;
    case 'SCMP_CMP_GE':
      return actual >= value;
    case 'SCMP_CMP_GT':
      return actual > value;
    case 'SCMP_CMP_MASKED_EQ':
      return (actual & value) === BigInt(arg.valueTwo ?? 0);
  }
}

/** What the filter decides for one call, as libseccomp would: a matching rule's action, else the default. */
function decide(profile: OciSeccomp, name: string, args: readonly bigint[] = []): Verdict {
  const matching = (profile.syscalls ?? []).filter(
    (rule) => rule.names.includes(name) && (rule.args ?? []).every((arg) => holds(arg, args)),
  );
  const verdicts = new Set(
    matching.map((rule) =>
      rule.action === 'SCMP_ACT_ERRNO'
        ? `errno:${rule.errnoRet ?? profile.defaultErrnoRet ?? EPERM}`
        : rule.action === 'SCMP_ACT_ALLOW'
          ? 'allow'
          : rule.action,
    ),
  );
  if (verdicts.size > 1) throw new Error(`${name}: conflicting rules ${[...verdicts].join(', ')}`);
  const [verdict] = verdicts;
  if (verdict === undefined) return { action: 'errno', errno: profile.defaultErrnoRet ?? EPERM };
  if (verdict === 'allow') return { action: 'allow' };
  if (verdict.startsWith('errno:')) return { action: 'errno', errno: Number(verdict.slice('errno:'.length)) };
  return { action: verdict };
}

const ALLOW: Verdict = { action: 'allow' };
const DENY: Verdict = { action: 'errno', errno: EPERM };

const arches: SeccompHostArch[] = ['x86_64', 'aarch64'];
const profileFor = (caps: readonly string[], arch: SeccompHostArch = 'x86_64'): OciSeccomp =>
  defaultSeccompProfile(caps, { arch });
const defaults = profileFor(DEFAULT_CAPABILITIES);
const withCap = (cap: string, arch: SeccompHostArch = 'x86_64'): OciSeccomp =>
  profileFor([...DEFAULT_CAPABILITIES, cap], arch);

describe('defaultSeccompProfile: header', () => {
  it('denies by default with EPERM', () => {
    expect(defaults.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(defaults.defaultErrnoRet).toBe(EPERM);
  });

  it('names the host architecture and its 32-bit ABIs', () => {
    expect(profileFor([], 'x86_64').architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(profileFor([], 'aarch64').architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  });
});

describe.each(arches)('defaultSeccompProfile on %s', (arch) => {
  const profile = profileFor(DEFAULT_CAPABILITIES, arch);

  it.each([
    'read', 'write', 'openat', 'close', 'execve', 'exit_group', 'mmap', 'futex', 'rt_sigaction', 'wait4',
    'statx', 'close_range', 'openat2', 'fchmodat2', 'futex_waitv', 'rseq', 'landlock_create_ruleset', 'seccomp',
    'pidfd_open', 'memfd_create', 'ptrace', 'process_vm_readv', 'chroot',
  ])('allows %s', (name) => {
    expect(decide(profile, name)).toEqual(ALLOW);
  });

  it.each([
    'keyctl', 'add_key', 'request_key', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module',
    'delete_module', 'open_by_handle_at', 'reboot', 'swapon', 'pivot_root', 'userfaultfd', 'io_uring_setup',
    'io_uring_enter', 'unshare', 'setns', 'mount', 'umount2', 'bpf', 'perf_event_open', 'syslog', 'acct',
    'settimeofday', 'clock_settime', 'iopl', 'vhangup', 'mbind', 'kcmp', 'pidfd_getfd', 'process_madvise',
    'nfsservctl', 'no_such_syscall',
  ])('denies %s with EPERM', (name) => {
    expect(decide(profile, name)).toEqual(DENY);
  });

  it('allows clone for threads and processes but not with namespace flags', () => {
    expect(decide(profile, 'clone', [CLONE_THREAD_FLAGS])).toEqual(ALLOW);
    expect(decide(profile, 'clone', [SIGCHLD])).toEqual(ALLOW);
    for (const flag of [CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWCGROUP]) {
      expect(decide(profile, 'clone', [SIGCHLD | flag])).toEqual(DENY);
    }
  });

  it('answers clone3 with ENOSYS so that the libc falls back to clone', () => {
    expect(decide(profile, 'clone3')).toEqual({ action: 'errno', errno: ENOSYS });
  });

  it('filters clone with a MASKED_EQ rule on the flags argument', () => {
    const cloneRules = (profile.syscalls ?? []).filter((rule) => rule.names.includes('clone'));
    expect(cloneRules).toEqual([
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      },
    ]);
  });

  it('allows sockets of every family but AF_ALG and AF_VSOCK', () => {
    for (const family of [1n, 2n, 10n, 16n, 17n, 37n, 39n, 41n, 44n, 45n]) {
      expect(decide(profile, 'socket', [family])).toEqual(ALLOW);
    }
    expect(decide(profile, 'socket', [38n])).toEqual(DENY);
    expect(decide(profile, 'socket', [40n])).toEqual(DENY);
  });

  it('allows only the harmless personality values', () => {
    for (const persona of [0n, 0x8n, 0x20000n, 0x20008n, 0xffffffffn]) {
      expect(decide(profile, 'personality', [persona])).toEqual(ALLOW);
    }
    for (const persona of [0x0040000n /* ADDR_NO_RANDOMIZE */, 0x0400000n /* READ_IMPLIES_EXEC */, 0x1n]) {
      expect(decide(profile, 'personality', [persona])).toEqual(DENY);
    }
  });
});

describe('defaultSeccompProfile: architecture-specific syscalls', () => {
  it('allows arch_prctl and modify_ldt only on x86_64', () => {
    expect(decide(profileFor([], 'x86_64'), 'arch_prctl')).toEqual(ALLOW);
    expect(decide(profileFor([], 'x86_64'), 'modify_ldt')).toEqual(ALLOW);
    expect(decide(profileFor([], 'aarch64'), 'arch_prctl')).toEqual(DENY);
  });

  it('allows the ARM helpers only on aarch64', () => {
    for (const name of ['set_tls', 'cacheflush', 'arm_fadvise64_64', 'sync_file_range2']) {
      expect(decide(profileFor([], 'aarch64'), name)).toEqual(ALLOW);
      expect(decide(profileFor([], 'x86_64'), name)).toEqual(DENY);
    }
  });
});

describe('defaultSeccompProfile: capabilities', () => {
  it('CAP_SYS_ADMIN unlocks unshare, mount, setns and unfiltered clone/clone3', () => {
    for (const arch of arches) {
      const admin = withCap('CAP_SYS_ADMIN', arch);
      for (const name of ['unshare', 'mount', 'umount2', 'setns', 'sethostname', 'fsopen', 'open_tree', 'clone3']) {
        expect(decide(admin, name)).toEqual(ALLOW);
      }
      expect(decide(admin, 'clone', [SIGCHLD | CLONE_NEWUSER | CLONE_NEWNS])).toEqual(ALLOW);
    }
  });

  it('accepts capability names without the CAP_ prefix', () => {
    expect(decide(profileFor(['sys_admin']), 'unshare')).toEqual(ALLOW);
    expect(profileFor(['SYS_ADMIN'])).toEqual(profileFor(['CAP_SYS_ADMIN']));
  });

  it.each([
    ['CAP_SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise']],
    ['CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
    ['CAP_SYS_BOOT', ['reboot']],
    ['CAP_SYS_TIME', ['settimeofday', 'clock_settime', 'stime']],
    ['CAP_SYS_NICE', ['mbind', 'set_mempolicy', 'get_mempolicy']],
    ['CAP_SYS_PACCT', ['acct']],
    ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
    ['CAP_SYSLOG', ['syslog']],
    ['CAP_BPF', ['bpf']],
    ['CAP_PERFMON', ['perf_event_open']],
    ['CAP_SYS_TTY_CONFIG', ['vhangup']],
    ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
  ])('%s unlocks %j', (cap, names) => {
    const profile = withCap(cap);
    for (const name of names) {
      expect(decide(defaults, name)).toEqual(DENY);
      expect(decide(profile, name)).toEqual(ALLOW);
    }
    expect(decide(profile, 'unshare')).toEqual(DENY);
    expect(decide(profile, 'keyctl')).toEqual(DENY);
  });

  it('CAP_SYS_CHROOT gates chroot', () => {
    const without = resolveCapabilities({ drop: ['SYS_CHROOT'] }).bounding;
    expect(decide(profileFor(without), 'chroot')).toEqual(DENY);
    expect(decide(defaults, 'chroot')).toEqual(ALLOW);
  });

  it('capabilities that guard no syscall change nothing', () => {
    for (const cap of ['CAP_SYS_RESOURCE', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_MKNOD']) {
      expect(withCap(cap)).toEqual(defaults);
    }
  });

  it('even with every capability keeps keyctl, kexec and the blocked socket families denied', () => {
    const privileged = profileFor(resolveCapabilities({ privileged: true }).bounding);
    for (const name of ['keyctl', 'add_key', 'request_key', 'kexec_load', 'io_uring_setup', 'userfaultfd']) {
      expect(decide(privileged, name)).toEqual(DENY);
    }
    expect(decide(privileged, 'socket', [40n])).toEqual(DENY);
  });
});

describe('defaultSeccompProfile: structure', () => {
  const variants: [string, OciSeccomp][] = [];
  for (const arch of arches) {
    variants.push([`${arch} none`, profileFor([], arch)]);
    variants.push([`${arch} default`, profileFor(DEFAULT_CAPABILITIES, arch)]);
    variants.push([`${arch} all`, profileFor(resolveCapabilities({ privileged: true }).bounding, arch)]);
  }

  it.each(variants)('%s: every rule is well formed', (_label, profile) => {
    expect(OCI_ACTIONS.has(profile.defaultAction)).toBe(true);
    for (const rule of profile.syscalls ?? []) {
      expect(OCI_ACTIONS.has(rule.action)).toBe(true);
      expect(rule.names.length).toBeGreaterThan(0);
      for (const name of rule.names) expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
      if (rule.errnoRet !== undefined) {
        expect(rule.action).toBe('SCMP_ACT_ERRNO');
        expect(Number.isInteger(rule.errnoRet) && rule.errnoRet > 0).toBe(true);
      }
      const indexes = new Set<number>();
      for (const arg of rule.args ?? []) {
        expect(OCI_OPS.has(arg.op)).toBe(true);
        expect(Number.isInteger(arg.index) && arg.index >= 0 && arg.index <= 5).toBe(true);
        expect(Number.isSafeInteger(arg.value) && arg.value >= 0).toBe(true);
        if (arg.valueTwo !== undefined) expect(arg.op).toBe('SCMP_CMP_MASKED_EQ');
        indexes.add(arg.index);
      }
      // libseccomp refuses two comparisons of the same argument in one rule
      expect(indexes.size).toBe((rule.args ?? []).length);
    }
  });

  it.each(variants)('%s: one unconditional allow rule, no name repeated or also filtered', (_label, profile) => {
    const rules = profile.syscalls ?? [];
    const unconditional = rules.filter((rule) => rule.action === 'SCMP_ACT_ALLOW' && rule.args === undefined);
    expect(unconditional).toHaveLength(1);
    const names = unconditional[0]?.names ?? [];
    expect(new Set(names).size).toBe(names.length);
    const others = rules.filter((rule) => rule !== unconditional[0]).flatMap((rule) => rule.names);
    expect(others.filter((name) => names.includes(name))).toEqual([]);
  });

  it.each(variants)('%s: no syscall has rules with different actions', (_label, profile) => {
    const actions = new Map<string, Set<string>>();
    for (const rule of profile.syscalls ?? []) {
      for (const name of rule.names) {
        const set = actions.get(name) ?? new Set<string>();
        set.add(`${rule.action}/${rule.errnoRet ?? ''}`);
        actions.set(name, set);
      }
    }
    expect([...actions].filter(([, set]) => set.size > 1)).toEqual([]);
  });

  it('stays small when serialised', () => {
    const all = profileFor(resolveCapabilities({ privileged: true }).bounding);
    expect(JSON.stringify(all).length).toBeLessThan(10 * 1024);
    expect(JSON.stringify(defaults).length).toBeLessThan(10 * 1024);
  });

  it('returns a fresh object each call', () => {
    const first = profileFor(DEFAULT_CAPABILITIES);
    first.syscalls?.[0]?.names.push('keyctl');
    first.architectures?.push('SCMP_ARCH_ARM');
    expect(decide(profileFor(DEFAULT_CAPABILITIES), 'keyctl')).toEqual(DENY);
    expect(profileFor(DEFAULT_CAPABILITIES).architectures).toHaveLength(3);
  });
});

describe('seccompHostArch', () => {
  it('maps Node architectures', () => {
    expect(seccompHostArch('x64')).toBe('x86_64');
    expect(seccompHostArch('arm64')).toBe('aarch64');
  });

  it.each(['ia32', 'riscv64', 's390x'])('rejects %s', (arch) => {
    expect(() => seccompHostArch(arch)).toThrow(DevenvError);
    try {
      seccompHostArch(arch);
    } catch (error) {
      expect((error as DevenvError).code).toBe('RUNTIME_UNSUPPORTED');
      expect((error as DevenvError).message).toContain(arch);
    }
  });
});
