/**
 * The one entry point from a workspace folder to a ready-to-use config: discover, read, parse and validate,
 * compute the workspace location, substitute. Synchronous and cheap: `devenv up` on a running container calls it.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';

import { DevenvError, isErrnoCode, isErrnoLike } from '../../errors.js';
import type { DevContainerConfig, MountObject } from './config-types.js';
import { devcontainerId, idLabelsFor } from './devcontainer-id.js';
import { findConfigFile } from './discover-config.js';
import { locateProperty } from './locate-property.js';
import { parseConfigText } from './parse-config.js';
import { substituteLocal } from './substitute.js';
import { defaultWorkspaceLocation, parseMountString, workspaceMountFor } from './workspace.js';

/** Input of loadProject. */
export interface LoadProjectOptions {
  /** `--workspace-folder`, relative to the current directory. */
  workspaceFolder: string;
  /** `--config`, relative to the current directory (as the devcontainer CLI reads it). */
  configFile?: string;
  /** The host environment for `${localEnv:…}`. */
  hostEnv: NodeJS.ProcessEnv;
  /** The devcontainer CLI's `--mount-workspace-git-root` (default true). */
  mountWorkspaceGitRoot?: boolean;
}

/** A project's config, substituted with everything known before a container exists. */
export interface LoadedProject {
  /** Absolute, realpath of --workspace-folder. */
  workspaceFolder: string;
  /** Absolute path of devcontainer.json. */
  configFile: string;
  /** The file's raw text (the caller hashes it to notice changes). */
  configText: string;
  /** After local substitution and `${devcontainerId}`; `${containerEnv:…}` is left for later. */
  config: DevContainerConfig;
  /** `devcontainer.local_folder` and `devcontainer.config_file`, as the devcontainer CLI labels containers. */
  idLabels: Record<string, string>;
  devcontainerId: string;
  /** Absolute path in the container: `workspaceFolder` of the config, else the default (git-root rule). */
  containerWorkspaceFolder: string;
  /** `workspaceMount` of the config parsed, else the default bind mount (git-root rule); sources are absolute. */
  workspaceMount: MountObject;
  /** Non-fatal problems, each starting with `<file>:<line>:`. */
  warnings: string[];
}

/** How a path is named in messages: relative to the current directory when below it (like compilers do). */
function displayPath(file: string): string {
  const below = relative(process.cwd(), file);
  return below === '' || below.startsWith('..') || isAbsolute(below) ? file : below;
}

function realWorkspaceFolder(folder: string): string {
  const absolute = resolve(process.cwd(), folder);
  let real: string;
  try {
    real = realpathSync.native(absolute);
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT') || isErrnoCode(error, 'ENOTDIR')) {
      throw new DevenvError('WORKSPACE_NOT_FOUND', `workspace folder \`${absolute}\` does not exist`, {
        hint: 'Check `--workspace-folder` (it is relative to the current directory).',
      });
    }
    throw readError(`resolve workspace folder \`${absolute}\``, error);
  }
  if (!statSync(real).isDirectory()) {
    throw new DevenvError('WORKSPACE_NOT_FOUND', `workspace folder \`${absolute}\` is not a directory`, {
      hint: 'Pass the project folder to `--workspace-folder`, and its devcontainer.json to `--config`.',
    });
  }
  return real;
}

function readError(operation: string, error: unknown): DevenvError {
  const code = isErrnoLike(error) ? error.code : String(error);
  return new DevenvError('CONFIG_UNREADABLE', `${operation}: ${code}`, {
    hint: 'Check that you can read it (permissions, ownership).',
    cause: error,
  });
}

function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) {
      throw new DevenvError('CONFIG_NOT_FOUND', `dev container config \`${file}\` not found`, { cause: error });
    }
    throw readError(`read \`${file}\``, error);
  }
}

/** `<file>:<line>: \`<property>\``, for messages about one property. */
function propertyName(file: string, text: string, path: (string | number)[], shown: string): string {
  const position = locateProperty(text, path);
  return `${file}${position === undefined ? '' : `:${position.line}`}: \`${shown}\``;
}

function resolveWorkspaceMount(config: DevContainerConfig, file: string, text: string): MountObject | undefined {
  if (config.workspaceMount === undefined) return undefined;
  const where = propertyName(file, text, ['workspaceMount'], 'workspaceMount');
  if (config.workspaceMount.trim() === '') {
    throw new DevenvError('CONFIG_INVALID', `${where}: an empty workspace mount (no mount at all) is not supported yet`, {
      hint: 'Remove `workspaceMount` to use the default mount, or give a full `type=bind,source=…,target=…` mount.',
    });
  }
  const mount = parseMountString(config.workspaceMount, where);
  if (mount.type === 'bind' && !isAbsolute(mount.source!)) {
    throw new DevenvError('CONFIG_INVALID', `${where}: the bind mount's source \`${mount.source}\` must be an absolute path`, {
      hint: 'Start it with `${localWorkspaceFolder}`, e.g. `source=${localWorkspaceFolder}/..`.',
    });
  }
  return mount;
}

/** Find, read, validate and substitute a project's devcontainer.json. Throws DevenvError naming file and property. */
export function loadProject(options: LoadProjectOptions): LoadedProject {
  const workspaceFolder = realWorkspaceFolder(options.workspaceFolder);
  const configFile = findConfigFile(workspaceFolder, options.configFile);
  const configText = readConfigText(configFile);
  const shownFile = displayPath(configFile);
  const parsed = parseConfigText(shownFile, configText);

  const location = defaultWorkspaceLocation(workspaceFolder, options.mountWorkspaceGitRoot ?? true);
  const idLabels = idLabelsFor(workspaceFolder, configFile);
  const id = devcontainerId(idLabels);
  // As the devcontainer CLI: `${containerWorkspaceFolder}` is the config's workspaceFolder (itself substituted
  // first) when set, else the default; the config's own workspaceFolder and workspaceMount then win.
  const config = substituteLocal(parsed.config, {
    env: options.hostEnv,
    localWorkspaceFolder: workspaceFolder,
    containerWorkspaceFolder: parsed.config.workspaceFolder || location.containerWorkspaceFolder,
    devcontainerId: id,
    configFile: shownFile,
  });

  const containerWorkspaceFolder = config.workspaceFolder ?? location.containerWorkspaceFolder;
  if (!containerWorkspaceFolder.startsWith('/')) {
    const where = propertyName(shownFile, configText, ['workspaceFolder'], 'workspaceFolder');
    throw new DevenvError('CONFIG_INVALID', `${where} must be an absolute path in the container (got \`${containerWorkspaceFolder}\`)`, {
      hint: 'Write it like `/workspaces/${localWorkspaceFolderBasename}`.',
    });
  }
  const workspaceMount = resolveWorkspaceMount(config, shownFile, configText) ?? workspaceMountFor(location);
  config.mounts?.forEach((mount, index) => {
    if (typeof mount === 'string') parseMountString(mount, propertyName(shownFile, configText, ['mounts', index], `mounts[${index}]`));
  });

  return {
    workspaceFolder,
    configFile,
    configText,
    config,
    idLabels,
    devcontainerId: id,
    containerWorkspaceFolder,
    workspaceMount,
    warnings: parsed.warnings,
  };
}

/** A path of the config (`build.dockerfile`, `build.context`) made absolute against the config file's folder. */
export function resolveConfigPath(project: Pick<LoadedProject, 'configFile'>, path: string): string {
  return resolve(dirname(project.configFile), path);
}
