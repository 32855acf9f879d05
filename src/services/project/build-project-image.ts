import { DevenvError } from '../../errors.js';
import type { BuildOptions } from '../../devcontainer/config/config-types.js';
import { resolveConfigPath, type LoadedProject } from '../../devcontainer/config/load-project.js';
import { formatReference, parseImageReference } from '../../image/reference.js';
import { buildImage, type BuildImageResult, type BuildProgressEvent } from '../image/build.js';
import type { ServiceContext } from '../service-context.js';

/** Where a project build reports: `UpReporter` satisfies it. */
export interface ProjectBuildReporter {
  step(message: string): void;
  warn(message: string): void;
  /** RUN output, one whole line at a time (UpReporter's hook output). */
  line?(text: string, stream: 'stdout' | 'stderr'): void;
}

export interface EnsureProjectImageOptions {
  /** Extra names for the image (`devenv build --image-name`), besides the project's own tag. */
  imageNames?: string[];
  noCache?: boolean;
  /** Labels for the image config (e.g. `devcontainer.metadata`). */
  labels?: Record<string, string>;
}

/** The tag `devenv up` gives a project's built image: `devenv-<first 12 of devcontainerId>:latest`. */
export function projectImageName(project: Pick<LoadedProject, 'devcontainerId'>): string {
  return formatReference(parseImageReference(`devenv-${project.devcontainerId.slice(0, 12).toLowerCase()}:latest`));
}

/** The build settings of a config's `build` (and the deprecated top-level dockerFile/context). */
export interface ProjectBuildSettings {
  dockerfile: string;
  context: string;
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  warnings: string[];
}

/** `build.options` as docker build flags: --build-arg, --target, --no-cache are applied; the rest warned about. Pure. */
export function translateBuildOptions(options: readonly string[]): { buildArgs: Record<string, string>; target?: string; noCache: boolean; warnings: string[] } {
  const out: { buildArgs: Record<string, string>; target?: string; noCache: boolean; warnings: string[] } = { buildArgs: {}, noCache: false, warnings: [] };
  for (let i = 0; i < options.length; i++) {
    const opt = options[i] as string;
    const eq = opt.indexOf('=');
    const name = opt.startsWith('--') && eq !== -1 ? opt.slice(0, eq) : opt;
    const inline = opt.startsWith('--') && eq !== -1 ? opt.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? options[++i];
    if (name === '--build-arg') {
      const v = value() ?? '';
      const e = v.indexOf('=');
      if (e > 0) out.buildArgs[v.slice(0, e)] = v.slice(e + 1);
      else out.warnings.push(`build.options: --build-arg \`${v}\` has no value; ignored`);
    } else if (name === '--target') {
      const v = value();
      if (v) out.target = v;
    } else if (name === '--no-cache') {
      out.noCache = inline === undefined || inline === 'true';
    } else {
      out.warnings.push(`build.options: \`${opt}\` is not supported by devenv build; ignored`);
    }
  }
  return out;
}

/** Resolve a project's build settings against its config file's folder. Pure but for path resolution. */
export function projectBuildSettings(project: Pick<LoadedProject, 'configFile' | 'config'>): ProjectBuildSettings {
  const config = project.config;
  const build: BuildOptions = config.build ?? {};
  const dockerfile = config.dockerFile ?? build.dockerfile;
  if (dockerfile === undefined) {
    throw new DevenvError('CONFIG_INVALID', `${project.configFile}: no build.dockerfile to build`, { hint: 'This config uses an image; nothing to build.' });
  }
  const translated = translateBuildOptions(build.options ?? []);
  const warnings = [...translated.warnings];
  if (build.cacheFrom !== undefined) warnings.push('build.cacheFrom is accepted and ignored: devenv builds use their local layer cache');
  const target = build.target ?? translated.target;
  return {
    dockerfile: resolveConfigPath(project, dockerfile),
    context: resolveConfigPath(project, config.context ?? build.context ?? '.'),
    buildArgs: { ...translated.buildArgs, ...(build.args ?? {}) },
    ...(target !== undefined ? { target } : {}),
    noCache: translated.noCache,
    warnings,
  };
}

/**
 * Build the image of a `build.dockerfile` project (cached: an unchanged Dockerfile and context cost only cache
 * lookups) and tag it `devenv-<id>:latest`; returns that reference for `createContainer`. `devenv up` calls this
 * from project-container.ts; `devenv build` too, with `imageNames`.
 */
export async function ensureProjectImage(
  ctx: ServiceContext,
  project: Pick<LoadedProject, 'configFile' | 'config' | 'devcontainerId'>,
  reporter: ProjectBuildReporter,
  options: EnsureProjectImageOptions = {},
): Promise<string> {
  return (await buildProjectImage(ctx, project, reporter, options)).reference as string;
}

/** As ensureProjectImage, with the whole build result (for `devenv build --json`). */
export async function buildProjectImage(
  ctx: ServiceContext,
  project: Pick<LoadedProject, 'configFile' | 'config' | 'devcontainerId'>,
  reporter: ProjectBuildReporter,
  options: EnsureProjectImageOptions = {},
): Promise<BuildImageResult> {
  const settings = projectBuildSettings(project);
  for (const w of settings.warnings) reporter.warn(w);
  const tag = projectImageName(project);
  reporter.step(`Building image ${tag} from ${settings.dockerfile}`);
  const pending: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  const flush = (stream: 'stdout' | 'stderr', all: boolean): void => {
    const lines = pending[stream].split('\n');
    pending[stream] = all ? '' : (lines.pop() as string);
    for (const l of all ? lines.filter((x, i) => x !== '' || i < lines.length - 1) : lines) reporter.line?.(l, stream);
  };
  const onProgress = (e: BuildProgressEvent): void => {
    if (e.type === 'step') {
      flush('stdout', true);
      flush('stderr', true);
      reporter.step(`[${e.step}/${e.total}] ${e.cached ? 'CACHED ' : ''}${e.instruction.length > 120 ? `${e.instruction.slice(0, 117)}…` : e.instruction}`);
    } else if (e.type === 'output') {
      pending[e.stream] += e.text;
      flush(e.stream, false);
    } else if (e.type === 'warning') {
      reporter.warn(e.message);
    } else {
      reporter.step(e.message);
    }
  };
  try {
    return await buildImage(ctx, {
      dockerfile: settings.dockerfile,
      context: settings.context,
      tags: [tag, ...(options.imageNames ?? [])],
      buildArgs: settings.buildArgs,
      ...(settings.target !== undefined ? { target: settings.target } : {}),
      noCache: options.noCache ?? settings.noCache,
      ...(options.labels ? { labels: options.labels } : {}),
      onProgress,
    });
  } finally {
    flush('stdout', true);
    flush('stderr', true);
  }
}
