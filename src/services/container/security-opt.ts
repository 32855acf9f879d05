import { DevenvError } from '../../errors.js';

/** What `--security-opt` values ask of a container. */
export interface SecurityOptions {
  seccompUnconfined: boolean;
  /** Things accepted for compatibility that change nothing here (AppArmor and SELinux labels). */
  ignored: string[];
}

/**
 * Docker's `--security-opt` values devenv understands: `seccomp=unconfined` (common in dev containers for
 * debuggers), `no-new-privileges[=true]` (always on for non-privileged containers here), and the AppArmor/SELinux
 * options, which have no effect without those LSM profiles and are ignored. A seccomp profile file is refused.
 */
export function parseSecurityOpts(values: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { seccompUnconfined: false, ignored: [] };
  for (const raw of values) {
    const value = raw.replace(/^(seccomp|apparmor|label):/, '$1='); // the old colon spelling
    if (value === 'seccomp=unconfined') out.seccompUnconfined = true;
    else if (/^no-new-privileges(=true|:true)?$/.test(value)) continue;
    else if (/^(apparmor|label)=/.test(value) || value === 'systempaths=unconfined') out.ignored.push(raw);
    else if (value.startsWith('seccomp=')) {
      throw new DevenvError('USAGE', `--security-opt \`${raw}\`: custom seccomp profiles are not supported`, {
        hint: 'Use seccomp=unconfined, or drop the option to get the default profile.',
      });
    } else {
      throw new DevenvError('USAGE', `--security-opt \`${raw}\` is not supported`, {
        hint: 'Supported: seccomp=unconfined, no-new-privileges, apparmor=…, label=… (the last two are ignored).',
      });
    }
  }
  return out;
}
