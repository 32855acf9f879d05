/**
 * `devenv build` (like `devcontainer build`): the project's whole dev container image — the base (the config's
 * image, or its Dockerfile built), its Features installed, and a `devcontainer.metadata` label holding the base
 * image's entries, one per Feature and the config's own entry — so that `up` on a config that only names the built
 * image gets the same users, environment, mounts and lifecycle hooks.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { ImageMetadataEntry } from '../../devcontainer/config/config-types.js';
import type { LoadedProject } from '../../devcontainer/config/load-project.js';
import { IMAGE_METADATA_LABEL, parseImageMetadataLabel } from '../../devcontainer/config/merge-metadata.js';
import { configMetadataEntry } from '../../devcontainer/features/config-metadata-entry.js';
import { pinnedBaseImage } from '../../devcontainer/features/lockfile.js';
import { formatReference, parseImageReference } from '../../image/reference.js';
import { readRootfsFile } from '../../runtime/container-user.js';
import { buildImage, type BuildImageResult, type BuildProgressEvent } from '../image/build.js';
import { resolveImageForContainer } from '../image/resolve-image.js';
import { buildProjectImage, type ProjectBuildReporter } from '../project/build-project-image.js';
import type { ServiceContext } from '../service-context.js';
import { prepareFeaturesBuild, readLockfile } from './prepare-features-build.js';

/** Options of buildDevcontainerImage. */
export interface DevcontainerBuildOptions {
  /** Names for the built image besides its default tag (`--image-name`). */
  imageNames: string[];
  noCache: boolean;
  /** Refuse a lockfile that does not match the config (otherwise it is written, as `up` does). */
  frozenLockfile?: boolean;
}

/** The built image, with what went into its label. */
export interface DevcontainerBuildResult extends BuildImageResult {
  /** The entries of its `devcontainer.metadata` label, in merge order (base image, Features, devcontainer.json). */
  metadata: ImageMetadataEntry[];
  /** The Features installed, as written in the config, in install order. */
  features: string[];
}

/** The default tag of `devenv build`'s image: `devenv-<first 12 of devcontainerId>-devcontainer:latest`. */
export function devcontainerImageName(project: Pick<LoadedProject, 'devcontainerId'>): string {
  return formatReference(parseImageReference(`devenv-${project.devcontainerId.slice(0, 12).toLowerCase()}-devcontainer:latest`));
}

/** Step and output lines of a builder run, as `up` shows them. */
function progressTo(reporter: ProjectBuildReporter): (e: BuildProgressEvent) => void {
  return (e) => {
    if (e.type === 'output') {
      for (const line of e.text.replace(/\n$/, '').split('\n')) reporter.line?.(line, e.stream);
    } else if (e.type === 'step') {
      reporter.step(`[${e.step}/${e.total}] ${e.cached ? 'CACHED ' : ''}${e.instruction.length > 120 ? `${e.instruction.slice(0, 117)}…` : e.instruction}`);
    } else if (e.type === 'warning') {
      reporter.warn(e.message);
    } else {
      reporter.step(e.message);
    }
  };
}

/**
 * Build the project's dev container image. The layers are those `up` would run (the base, then the Features
 * image, both built with the same cache); the result is that image with the full metadata label, tagged with its
 * default name and every `imageNames`. The Features image and `devenv-<id>:latest` are left as `up` uses them, without
 * the config's entry (which `up` merges from devcontainer.json itself).
 */
export async function buildDevcontainerImage(
  ctx: ServiceContext,
  project: Pick<LoadedProject, 'configFile' | 'config' | 'devcontainerId'>,
  reporter: ProjectBuildReporter,
  options: DevcontainerBuildOptions,
): Promise<DevcontainerBuildResult> {
  const config = project.config;
  let stepsRun = 0;
  let stepsCached = 0;
  let baseRef: string;
  if (config.image) {
    baseRef = pinnedBaseImage(readLockfile(project.configFile), config.image) ?? config.image;
  } else {
    const built = await buildProjectImage(ctx, project, reporter, { noCache: options.noCache });
    stepsRun += built.stepsRun;
    stepsCached += built.stepsCached;
    baseRef = built.reference as string;
  }
  reporter.step(`Resolving image ${baseRef}`);
  const base = await resolveImageForContainer(ctx, baseRef, { pull: 'missing' });
  const features = await prepareFeaturesBuild(ctx, {
    configFile: project.configFile,
    config,
    baseImage: { reference: base.reference, config: base.config },
    passwd: readRootfsFile(base.lowerdirs, 'etc/passwd'),
    lockfile: { frozen: options.frozenLockfile === true },
    reporter: { progress: (m) => reporter.step(m), warn: (m) => reporter.warn(m) },
  });
  let from = base.reference;
  let entries = parseImageMetadataLabel(base.config.config?.Labels?.[IMAGE_METADATA_LABEL], `image ${base.reference}`);
  if (features) {
    for (const w of features.warnings) reporter.warn(w);
    reporter.step(`Installing features (${features.features.length})`);
    const built = await buildImage(ctx, {
      dockerfile: { text: features.dockerfileText, name: features.dockerfileName },
      context: features.contextDir,
      tags: [features.tag],
      buildArgs: {},
      noCache: options.noCache,
      onProgress: progressTo(reporter),
    });
    stepsRun += built.stepsRun;
    stepsCached += built.stepsCached;
    from = features.tag;
    entries = features.metadataEntries;
  }
  const metadata = [...entries, configMetadataEntry(config)];
  // The label goes on an image of its own (FROM the last one, no layer added): a metadata-only build.
  const emptyContext = join(ctx.root, 'images', 'build-empty');
  mkdirSync(emptyContext, { recursive: true, mode: 0o755 });
  const final = await buildImage(ctx, {
    dockerfile: { text: `FROM ${from}\n`, name: 'Dockerfile.devcontainer (generated)' },
    context: emptyContext,
    tags: [devcontainerImageName(project), ...options.imageNames],
    labels: { [IMAGE_METADATA_LABEL]: JSON.stringify(metadata) },
    onProgress: progressTo(reporter),
  });
  return {
    ...final,
    stepsRun: stepsRun + final.stepsRun,
    stepsCached: stepsCached + final.stepsCached,
    metadata,
    features: features?.features.map((f) => f.source.written) ?? [],
  };
}
