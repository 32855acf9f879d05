import { DevenvError } from '../../errors.js';
import { pinnedBaseImage } from '../../devcontainer/features/lockfile.js';
import { readRootfsFile } from '../../runtime/container-user.js';
import { prepareFeaturesBuild, readLockfile } from '../features/prepare-features-build.js';
import { buildImage } from '../image/build.js';
import { ensureProjectImage } from './build-project-image.js';
import type { LoadedProject } from '../../devcontainer/config/load-project.js';
import { checkHostRequirements, probeHost } from '../../devcontainer/config/host-requirements.js';
import { mergeConfiguration, parseImageMetadataLabel } from '../../devcontainer/config/merge-metadata.js';
import { translateRunArgs } from '../../devcontainer/config/run-args.js';
import { substituteContainerEnv } from '../../devcontainer/config/substitute.js';
import { bundleDir, findRecord, isNameTaken, type ContainerRecord } from '../../runtime/container-store.js';
import { createContainer } from '../container/create.js';
import { removeContainer } from '../container/remove.js';
import { removeAnonymousVolumes } from '../container/remove-volumes.js';
import { containerVolumes } from '../../volumes/volume-usage.js';
import { removeVolumes } from '../volume/remove.js';
import { resolveImageForContainer } from '../image/resolve-image.js';
import type { ServiceContext } from '../service-context.js';
import { linkProjectContainer, unlinkProjectContainer } from './project-index.js';
import { ensureAgentDir } from '../agent/agent-mount.js';
import { projectContainerName, projectCreateOptions, resolveRemoteUser } from './project-options.js';
import { writeProjectState, type ProjectState } from './project-state.js';
import type { UpReporter } from './up.js';

function envMap(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list) {
    const eq = e.indexOf('=');
    if (eq > 0) out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

/**
 * A container of this project that a killed `up` made but never linked (it has the project's name and label but
 * no project.json): removed, so the new one can take the name.
 */
async function removeUnlinked(ctx: ServiceContext, project: LoadedProject, name: string, reporter: UpReporter): Promise<void> {
  if (!isNameTaken(ctx.root, name)) return;
  const record = findRecord(ctx.root, name);
  if (record.labels?.['devenv.project'] !== project.devcontainerId) return; // someone else's: create will say so
  reporter.step(`Removing half-made container ${record.name}`);
  await removeProjectContainer(ctx, project.devcontainerId, record, { volumes: false });
}

/** Whether the store already holds an image by that reference (an unchanged feature set is not rebuilt). */
async function hasImage(ctx: ServiceContext, ref: string): Promise<boolean> {
  try {
    await resolveImageForContainer(ctx, ref, { pull: 'never' });
    return true;
  } catch (error) {
    if (error instanceof DevenvError && error.code === 'IMAGE_NOT_FOUND') return false;
    throw error;
  }
}

/** Docker Hub's Debian is out of reach (air-gapped, or no Docker Hub here): say how to make it locally. */
function withBootstrapHint(error: unknown, image: string): unknown {
  const m = /^(?:docker\.io\/)?(?:library\/)?debian:([a-z]+)$/.exec(image);
  if (!m || !(error instanceof DevenvError) || !error.code.startsWith('REGISTRY_')) return error;
  return new DevenvError(error.code, error.message, {
    kind: error.kind,
    cause: error,
    hint: `Build it here from Debian's own mirror instead: \`devenv image bootstrap debian:${m[1]}\` (see docs/templates-and-bootstrap.md).`,
  });
}

/**
 * Make the project's container: resolve (pull) the image, merge its devcontainer.metadata with the config,
 * check hostRequirements, translate runArgs, create, write project.json and link it to the project. Not started.
 */
export async function createProjectContainer(
  ctx: ServiceContext,
  project: LoadedProject,
  configHash: string,
  reporter: UpReporter,
  options: { frozenLockfile?: boolean } = {},
): Promise<{ record: ContainerRecord; state: ProjectState }> {
  const config = project.config;
  // The base: the config's image (pinned by the lockfile when `devenv lock` pinned it), or one built from its Dockerfile.
  const baseRef = config.image
    ? (pinnedBaseImage(readLockfile(project.configFile), config.image) ?? config.image)
    : await ensureProjectImage(ctx, project, reporter);
  reporter.step(`Resolving image ${baseRef}`);
  const resolve = (ref: string) =>
    resolveImageForContainer(ctx, ref, {
      pull: 'missing',
      ...(reporter.onPullProgress ? { onProgress: (e) => reporter.onPullProgress?.(e) } : {}),
    }).catch((error: unknown) => {
      throw withBootstrapHint(error, ref);
    });
  let image = await resolve(baseRef);
  // Features: a generated Dockerfile on top of the base (as the devcontainer CLI does), built once per set.
  const features = await prepareFeaturesBuild(ctx, {
    configFile: project.configFile,
    config,
    baseImage: { reference: image.reference, config: image.config },
    passwd: readRootfsFile(image.lowerdirs, 'etc/passwd'),
    lockfile: { frozen: options.frozenLockfile === true },
    reporter: { progress: (m: string) => reporter.step(m), warn: (m: string) => reporter.warn(m) },
  });
  let metadata = parseImageMetadataLabel(image.config.config?.Labels?.['devcontainer.metadata'], `image ${image.reference}`);
  if (features) {
    for (const w of features.warnings) reporter.warn(w);
    if (!(await hasImage(ctx, features.tag))) {
      reporter.step(`Installing features (${features.features.length})`);
      await buildImage(ctx, {
        dockerfile: { text: features.dockerfileText, name: features.dockerfileName },
        context: features.contextDir,
        tags: [features.tag],
        buildArgs: {},
        noCache: false,
        onProgress: (e) => {
          if (e.type === 'output') reporter.line(e.text, e.stream);
          else if (e.type === 'step') reporter.step(`[${e.step}/${e.total}] ${e.instruction}${e.cached ? ' (cached)' : ''}`);
          else if (e.type === 'warning') reporter.warn(e.message);
        },
      });
    }
    image = await resolve(features.tag);
    metadata = features.metadataEntries;
  }
  const merged = mergeConfiguration(config, metadata);
  const host = checkHostRequirements(merged.hostRequirements, probeHost(ctx.root));
  for (const w of host.warnings) reporter.warn(w);
  const runArgs = translateRunArgs(config.runArgs ?? []);
  for (const w of runArgs.warnings) reporter.warn(w);
  const remoteUser = resolveRemoteUser(merged, image.config);
  const rootless = (process.getuid?.() ?? 0) !== 0;
  const create = projectCreateOptions({
    project,
    merged,
    runArgs: runArgs.options,
    imageRef: image.manifestDigest,
    imageConfig: image.config,
    metadataLabel: JSON.stringify(metadata.concat([])),
    remoteUser,
    rootless,
    agentDir: ensureAgentDir(ctx.root, project.devcontainerId),
  });
  for (const w of create.warnings) reporter.warn(w);
  await removeUnlinked(ctx, project, create.options.name ?? projectContainerName(project), reporter);
  reporter.step(`Creating container ${create.options.name ?? ''}`.trim());
  const record = await createContainer(ctx, { ...create.options, image: image.reference });
  const state: ProjectState = {
    devcontainerId: project.devcontainerId,
    workspaceFolder: project.workspaceFolder,
    configFile: project.configFile,
    configHash,
    remoteUser,
    remoteWorkspaceFolder: project.containerWorkspaceFolder,
    remoteEnv: substituteContainerEnv(merged.remoteEnv, envMap(record.spec.env)),
    userEnvProbe: merged.userEnvProbe,
    hooks: {
      onCreateCommand: merged.onCreateCommands,
      updateContentCommand: merged.updateContentCommands,
      postCreateCommand: merged.postCreateCommands,
      postStartCommand: merged.postStartCommands,
      postAttachCommand: merged.postAttachCommands,
    },
    waitFor: merged.waitFor ?? 'updateContentCommand',
    createHooksDone: [],
    shutdownAction: merged.shutdownAction ?? 'stopContainer',
    forwardPorts: merged.forwardPorts,
    ...(create.requiredPorts.length > 0 ? { requiredPorts: create.requiredPorts } : {}),
  };
  writeProjectState(bundleDir(ctx.root, record.id), state);
  linkProjectContainer(ctx.root, project.devcontainerId, record.id);
  return { record, state };
}

/** Remove a project's container (stopping it), its anonymous volumes, and the project link. */
export async function removeProjectContainer(
  ctx: ServiceContext,
  devcontainerId: string,
  record: ContainerRecord,
  options: { volumes: boolean },
): Promise<string[]> {
  const volumes = containerVolumes(ctx.root, record);
  await removeContainer(ctx, record, { force: true });
  unlinkProjectContainer(ctx.root, devcontainerId, record.id);
  // Anonymous volumes belong to this container alone (nothing can name them again); named ones only with --volumes.
  await removeAnonymousVolumes(ctx, record, { always: true });
  const named = options.volumes ? volumes.filter((v) => !v.anonymous).map((v) => v.name) : [];
  if (named.length > 0) await removeVolumes(ctx, named, { force: true });
  return named;
}


