import { DevenvError } from '../../errors.js';
import {
  AF_ALG,
  AF_VSOCK,
  ALLOWED_PERSONALITIES,
  ALWAYS_ALLOWED_SYSCALLS,
  ARCH_ALLOWED_SYSCALLS,
  CAPABILITY_UNLOCKED_SYSCALLS,
  CLONE_NAMESPACE_FLAGS,
  ERRNO_ENOSYS,
  ERRNO_EPERM,
} from './seccomp-syscalls.js';

/** Seccomp actions of the OCI runtime spec (`config-linux.md`, "Seccomp"). */
export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

/** Argument comparison operators of the OCI runtime spec. */
export type SeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

/** The libseccomp architectures devenv's profiles name (a subset of the spec's list). */
export type SeccompArchitecture =
  | 'SCMP_ARCH_X86'
  | 'SCMP_ARCH_X86_64'
  | 'SCMP_ARCH_X32'
  | 'SCMP_ARCH_ARM'
  | 'SCMP_ARCH_AARCH64';

/**
 * One argument condition: the syscall's argument number `index` compared with `value` by `op`. For
 * SCMP_CMP_MASKED_EQ the test is `(arg & value) == valueTwo`.
 */
export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

/** One rule: `action` for every syscall in `names` whose arguments meet all of `args`. */
export interface OciSeccompSyscall {
  names: string[];
  action: SeccompAction;
  /** The errno returned with SCMP_ACT_ERRNO (default: `defaultErrnoRet`, else EPERM). */
  errnoRet?: number;
  args?: OciSeccompArg[];
}

/** The OCI `linux.seccomp` object, as it goes into config.json. */
export interface OciSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: SeccompArchitecture[];
  flags?: string[];
  syscalls?: OciSeccompSyscall[];
}

/** The host architectures devenv's default profile covers, each with the 32-bit ABIs it can also run. */
export type SeccompHostArch = keyof typeof ARCH_ALLOWED_SYSCALLS;

/** Options of {@link defaultSeccompProfile}. */
export interface DefaultSeccompOptions {
  /** The host's architecture; defaults to the one Node runs on. */
  arch?: SeccompHostArch;
}

const ARCHITECTURES: Record<SeccompHostArch, SeccompArchitecture[]> = {
  x86_64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  aarch64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

/** The seccomp architecture family of a Node `process.arch` value; throws for hosts devenv does not support. */
export function seccompHostArch(nodeArch: string = process.arch): SeccompHostArch {
  if (nodeArch === 'x64') return 'x86_64';
  if (nodeArch === 'arm64') return 'aarch64';
  throw new DevenvError('RUNTIME_UNSUPPORTED', `seccomp profile: architecture \`${nodeArch}\` is not supported`, {
    kind: 'external',
    hint: 'devenv runs on x86_64 and aarch64 hosts.',
  });
}

/**
 * The default seccomp profile for a container whose bounding set is `capabilities` (`CAP_*` names, as
 * resolveCapabilities returns them; `SYS_ADMIN` spellings are accepted too). It is equivalent to what Docker
 * derives from its default profile for the same capabilities on the same host architecture: EPERM for every
 * syscall not listed; one unconditional allow rule (Docker's allow list, the architecture's extras and what the
 * capabilities unlock); `socket` for every family but AF_ALG and AF_VSOCK; five `personality` values; and,
 * without CAP_SYS_ADMIN, `clone` only without namespace flags and `clone3` answered with ENOSYS so that libcs
 * fall back to `clone`, whose flags seccomp can see.
 *
 * Unlike Docker's, each syscall name appears in at most one rule kind (never both unconditionally allowed and
 * filtered), which keeps the filter small and its meaning obvious.
 */
export function defaultSeccompProfile(
  capabilities: readonly string[],
  options: DefaultSeccompOptions = {},
): OciSeccomp {
  const arch = options.arch ?? seccompHostArch();
  const caps = new Set(capabilities.map(canonicalCapability));
  const hasSysAdmin = caps.has('CAP_SYS_ADMIN');

  const allowed = new Set<string>([...ALWAYS_ALLOWED_SYSCALLS, ...ARCH_ALLOWED_SYSCALLS[arch]]);
  for (const [capability, names] of Object.entries(CAPABILITY_UNLOCKED_SYSCALLS)) {
    if (caps.has(capability)) for (const name of names) allowed.add(name);
  }

  const syscalls: OciSeccompSyscall[] = [{ names: [...allowed].sort(), action: 'SCMP_ACT_ALLOW' }];

  // One rule per accepted range: seccomp arguments of one rule are ANDed, separate rules are ORed.
  syscalls.push(
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_ALG, op: 'SCMP_CMP_LT' }] },
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_ALG + 1, op: 'SCMP_CMP_EQ' }] },
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_GT' }] },
  );
  for (const persona of ALLOWED_PERSONALITIES) {
    syscalls.push({
      names: ['personality'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: persona, op: 'SCMP_CMP_EQ' }],
    });
  }

  if (!hasSysAdmin) {
    syscalls.push(
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      },
      // ENOSYS, not EPERM: glibc and musl then retry with clone(2) instead of failing thread creation.
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ERRNO_ENOSYS },
    );
  }

  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: ERRNO_EPERM,
    architectures: [...ARCHITECTURES[arch]],
    syscalls,
  };
}

function canonicalCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}
