import { parseProbedEnv, userEnvProbeCommand } from '../../devcontainer/lifecycle/user-env-probe.js';
import { bundleDir, type ContainerRecord } from '../../runtime/container-store.js';
import { readRootfsFile } from '../../runtime/container-user.js';
import { execPiped } from '../container/exec.js';
import type { ServiceContext } from '../service-context.js';
import { writeProjectState, type ProjectState } from './project-state.js';

/** How long the shell of userEnvProbe may take before `up` goes on without its environment. */
export const PROBE_TIME_LIMIT_MS = 10_000;

/** The login shell of a user (name or uid) from the image's /etc/passwd; /bin/sh when unknown. */
export function loginShellOf(passwd: string | undefined, user: string): string {
  const name = user.split(':')[0] ?? user;
  for (const line of (passwd ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 7 && (f[0] === name || f[2] === name) && f[6]) return f[6];
  }
  return '/bin/sh';
}

/**
 * Probe remoteUser's shell environment (userEnvProbe) once per container start and keep it in project.json, so
 * `exec` and later hooks reuse it instead of starting a login shell each time (the devcontainer CLI's exec is
 * slow partly for that). A probe that fails or takes longer than the limit is reported and skipped.
 */
export async function ensureProbedEnv(
  ctx: ServiceContext,
  record: ContainerRecord,
  state: ProjectState,
  startedAt: string,
  reporter: { warn(message: string): void; step(message: string): void },
): Promise<void> {
  if (state.probedEnv?.startedAt === startedAt) return;
  const shell = loginShellOf(readRootfsFile(record.spec.rootfs.lowerdirs, 'etc/passwd'), state.remoteUser);
  const argv = userEnvProbeCommand(state.userEnvProbe as Parameters<typeof userEnvProbeCommand>[0], shell);
  let env: Record<string, string> = {};
  if (argv) {
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    const timeout = AbortSignal.timeout(PROBE_TIME_LIMIT_MS);
    try {
      const code = await execPiped(
        ctx,
        record,
        { command: argv, env: Object.entries(state.remoteEnv).flatMap(([k, v]) => (v === null ? [] : [`${k}=${v}`])), user: state.remoteUser, workdir: state.remoteWorkspaceFolder },
        { onStdout: (c) => chunks.push(c), onStderr: (c) => errors.push(c), signal: timeout },
      );
      if (timeout.aborted) reporter.warn(`userEnvProbe (${state.userEnvProbe}) took longer than ${PROBE_TIME_LIMIT_MS / 1000} s and was stopped; going on without the shell's environment`);
      else if (code !== 0) reporter.warn(`userEnvProbe: \`${argv.join(' ')}\` exited with ${code}; going on without the shell's environment`);
      else env = parseProbedEnv(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      reporter.warn(`userEnvProbe failed: ${(error as Error).message}`);
    }
  }
  state.probedEnv = { startedAt, env };
  writeProjectState(bundleDir(ctx.root, record.id), state);
}
