import { DevenvError } from '../../errors.js';
import type { DevContainerConfig } from '../config/config-types.js';

/** The spec's userEnvProbe modes. */
export type UserEnvProbe = NonNullable<DevContainerConfig['userEnvProbe']>;

/*
 * The marker printed before and after the environment, so whatever the shell's startup files print (motd, nvm
 * chatter, `set -x` traces) is ignored. The command prints it as two halves, so a trace of the command line itself
 * (`+ printf %s%s DEVENV-ENV- …`) never contains the whole marker.
 */
const MARKER_HEAD = 'DEVENV-ENV-';
const MARKER_TAIL = 'b3c07e5a91';
export const USER_ENV_PROBE_MARKER = MARKER_HEAD + MARKER_TAIL;

/**
 * Variables that describe the probe's shell rather than the user's environment. The devcontainer CLI drops PWD
 * only; devenv also drops OLDPWD, SHLVL and `_` (the last command run), which would be wrong in every later process.
 */
export const DROPPED_PROBE_VARIABLES: readonly string[] = ['PWD', 'OLDPWD', 'SHLVL', '_'];

const SHELL_FLAGS: Record<Exclude<UserEnvProbe, 'none'>, string[]> = {
  loginInteractiveShell: ['-lic'],
  loginShell: ['-lc'],
  interactiveShell: ['-ic'],
};

/**
 * The argv that prints the user's shell environment for a userEnvProbe mode, or undefined for `none`.
 * `shell` is the user's login shell from /etc/passwd (default /bin/sh). The environment is read from
 * /proc/self/environ (NUL-separated, so values may hold newlines), falling back to `env` where /proc is missing.
 * PowerShell gets `-Login -Command` (as the devcontainer CLI does); every other shell `-lic`/`-lc`/`-ic`.
 */
export function userEnvProbeCommand(probe: UserEnvProbe, shell = '/bin/sh'): string[] | undefined {
  if (probe === 'none') return undefined;
  const marker = `printf '%s%s' ${MARKER_HEAD} ${MARKER_TAIL}`;
  const script = `${marker}; cat /proc/self/environ 2>/dev/null || env; ${marker}`;
  const base = shell.slice(shell.lastIndexOf('/') + 1);
  if (/^pwsh(-preview)?$/.test(base)) {
    const login = probe === 'loginInteractiveShell' || probe === 'loginShell';
    return [shell, ...(login ? ['-Login', '-Command'] : ['-Command']), script];
  }
  return [shell, ...SHELL_FLAGS[probe], script];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The environment between the first and last marker of the probe's output. NUL-separated text (from
 * /proc/self/environ) is split on NUL; newline-separated text (the `env` fallback) on newlines, a line that is not
 * NAME=… continuing the previous value. Throws LIFECYCLE_ENV_PROBE when the markers are missing (the shell failed
 * before printing); the caller reports that and goes on without the probed environment, as the CLI does.
 */
export function parseProbedEnv(output: string): Record<string, string> {
  const start = output.indexOf(USER_ENV_PROBE_MARKER);
  const end = output.lastIndexOf(USER_ENV_PROBE_MARKER);
  if (start === -1 || end === start) {
    throw new DevenvError('LIFECYCLE_ENV_PROBE', 'userEnvProbe: the shell did not print its environment', {
      hint: 'Check the shell startup files (~/.profile, ~/.bashrc, …) of the remote user, or set "userEnvProbe": "none".',
    });
  }
  const body = output.slice(start + USER_ENV_PROBE_MARKER.length, end);
  const env: Record<string, string> = {};
  if (body.includes('\0')) {
    for (const entry of body.split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  } else {
    let last: string | undefined;
    for (const line of body.replace(/\n$/, '').split('\n')) {
      const eq = line.indexOf('=');
      const name = eq > 0 ? line.slice(0, eq) : '';
      if (NAME.test(name)) {
        env[name] = line.slice(eq + 1);
        last = name;
      } else if (last !== undefined) {
        env[last] += `\n${line}`;
      }
    }
  }
  for (const name of DROPPED_PROBE_VARIABLES) delete env[name];
  return env;
}

/**
 * PATH for the remote user: the probed shell's PATH, with the container's PATH entries that the shell's startup
 * files lost put back next to their neighbours. Non-root users do not get sbin directories back. (The devcontainer
 * CLI does this whenever it cannot patch /etc/profile; devenv never patches it, so always.)
 */
export function mergeProbedPath(probedPath: string, containerPath: string, isRoot: boolean): string {
  const result = probedPath.split(':');
  let insertAt = 0;
  for (const dir of containerPath.split(':')) {
    const found = result.indexOf(dir);
    if (found !== -1) {
      insertAt = found + 1;
    } else if (isRoot || !/\/sbin(\/|$)/.test(dir)) {
      result.splice(insertAt, 0, dir);
      insertAt += 1;
    }
  }
  return result.join(':');
}
