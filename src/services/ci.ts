/**
 * `devenv ci -- CMD…`: the environment of a CI job. Check the lockfile (frozen: any drift fails before anything is
 * built) and the fingerprint, bring the environment up from scratch, run the command in the workspace as
 * remoteUser, remove the environment whatever happened, and return the command's exit code.
 */
import { DevenvError } from '../errors.js';
import { lockfilePath } from '../devcontainer/features/lockfile.js';
import { loadProject } from '../devcontainer/config/load-project.js';
import type { ServiceContext } from './service-context.js';
import { fingerprintProject } from './features/environment.js';
import { readLockfile, resolveProjectFeatures, type FeaturesDepsOverrides } from './features/prepare-features-build.js';
import type { UpOptions, UpReporter } from './project/up.js';

/** Where `ci` reports: plain, whole lines (a CI log is not a terminal). */
export interface CiReporter extends UpReporter {}

export interface CiOptions {
  workspaceFolder: string;
  configFile?: string;
  command: string[];
  /** The fingerprint the environment must have (default: the lockfile's `devenv.fingerprint`, when there is one). */
  fingerprint?: string;
  /** Also remove the named volumes the container mounts. */
  volumes?: boolean;
  hostEnv: NodeJS.ProcessEnv;
  reporter: CiReporter;
  deps?: FeaturesDepsOverrides;
}

export interface CiResult {
  /** The command's exit code. */
  exitCode: number;
  fingerprint?: string;
  containerId?: string;
}

/**
 * The project services `ci` drives: `upProject`, `execInProject`, `downProject` by default (injectable for tests).
 * `up` is called with `frozenLockfile: true` and `rebuild: true`.
 */
export interface CiProjectServices {
  up(ctx: ServiceContext, options: UpOptions & { frozenLockfile: boolean }): Promise<{ containerId: string }>;
  exec(ctx: ServiceContext, options: { workspaceFolder: string; configFile?: string; command: string[] }): Promise<number>;
  down(ctx: ServiceContext, options: { workspaceFolder: string; configFile?: string; volumes: boolean }): Promise<unknown>;
}

async function defaultServices(): Promise<CiProjectServices> {
  const [{ upProject }, { execInProject }, { downProject }] = await Promise.all([
    import('./project/up.js'),
    import('./project/project-exec.js'),
    import('./project/down.js'),
  ]);
  return {
    up: (ctx, options) => upProject(ctx, options),
    async exec(ctx, options) {
      const result = await execInProject(ctx, { ...options, env: [], tty: false, interactive: false });
      for (const w of result.warnings) ctx.logger.warn(w);
      return result.wait ? result.wait() : 0;
    },
    down: (ctx, options) => downProject(ctx, options),
  };
}

/** Run a command in a fresh environment of the project, frozen to its lockfile; always removes the environment. */
export async function runCi(ctx: ServiceContext, options: CiOptions, services?: CiProjectServices): Promise<CiResult> {
  const { reporter } = options;
  if (options.command.length === 0) throw new DevenvError('USAGE', 'ci: no command given', { hint: 'Usage: devenv ci [--workspace-folder DIR] -- COMMAND [ARG…]' });
  const location = { workspaceFolder: options.workspaceFolder, ...(options.configFile ? { configFile: options.configFile } : {}) };
  const project = loadProject({ ...location, hostEnv: options.hostEnv });

  reporter.step(`Checking ${lockfilePath(project.configFile)} (frozen)`);
  const featureReporter = { progress: (m: string) => reporter.step(m), warn: (m: string) => reporter.warn(m) };
  await resolveProjectFeatures(ctx, { configFile: project.configFile, config: project.config, lockfile: { frozen: true }, reporter: featureReporter, ...(options.deps ? { deps: options.deps } : {}) });

  const expected = options.fingerprint ?? readLockfile(project.configFile)?.devenv?.fingerprint;
  let fingerprint: string | undefined;
  if (expected !== undefined) {
    reporter.step('Checking the environment fingerprint');
    fingerprint = (await fingerprintProject(ctx, { ...location, hostEnv: options.hostEnv, reporter: featureReporter, ...(options.deps ? { deps: options.deps } : {}) })).fingerprint;
    const want = expected.startsWith('sha256:') ? expected : `sha256:${expected}`;
    if (fingerprint !== want) {
      throw new DevenvError('FINGERPRINT_MISMATCH', `the environment's fingerprint is ${fingerprint}, expected ${want}`, {
        hint: 'Something in the environment changed (base image, a Feature, or devcontainer.json). Run `devenv fingerprint --json` on both sides to compare, or `devenv lock` to accept the change.',
      });
    }
  }

  const use = services ?? (await defaultServices());
  let containerId: string | undefined;
  try {
    const up = await use.up(ctx, { ...location, rebuild: true, skipPostAttach: true, hostEnv: options.hostEnv, reporter, frozenLockfile: true });
    containerId = up.containerId;
    reporter.step(`Running ${options.command.join(' ')}`);
    const exitCode = await use.exec(ctx, { ...location, command: options.command });
    reporter.step(`Command exited with code ${exitCode}`);
    return { exitCode, ...(fingerprint ? { fingerprint } : {}), ...(containerId ? { containerId } : {}) };
  } finally {
    reporter.step('Removing the environment');
    try {
      await use.down(ctx, { ...location, volumes: options.volumes ?? false });
    } catch (error) {
      reporter.warn(`removing the environment failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
