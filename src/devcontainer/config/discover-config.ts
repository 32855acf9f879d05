/**
 * Finding a project's devcontainer.json, in the spec's order: `.devcontainer/devcontainer.json`, then
 * `.devcontainer.json`, then `.devcontainer/<folder>/devcontainer.json` (one level deep).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

import { DevenvError } from '../../errors.js';

const TOP_LEVEL_CANDIDATES = [join('.devcontainer', 'devcontainer.json'), '.devcontainer.json'];

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false; // ENOENT, ENOTDIR (a file where a folder was expected), EACCES: not a usable config here
  }
}

function listSubfolderConfigs(workspaceFolder: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(workspaceFolder, '.devcontainer'));
  } catch {
    return []; // no .devcontainer folder (or not a folder): nothing to list
  }
  return entries
    .sort()
    .map((name) => join(workspaceFolder, '.devcontainer', name, 'devcontainer.json'))
    .filter(isFile);
}

/** Every devcontainer.json of the workspace folder, absolute, in the order the spec prefers them. */
export function listConfigFiles(workspaceFolder: string): string[] {
  const topLevel = TOP_LEVEL_CANDIDATES.map((candidate) => join(workspaceFolder, candidate)).filter(isFile);
  return [...topLevel, ...listSubfolderConfigs(workspaceFolder)];
}

/**
 * The config file to use: `configOption` (`--config`, relative to the current directory as the devcontainer CLI
 * resolves it) when given, else the first top-level config, else the only sub-folder config.
 * Throws CONFIG_NOT_FOUND when there is none, CONFIG_AMBIGUOUS when several sub-folder configs compete.
 */
export function findConfigFile(workspaceFolder: string, configOption?: string): string {
  if (configOption !== undefined) {
    const file = resolve(process.cwd(), configOption);
    if (!isFile(file)) {
      throw new DevenvError('CONFIG_NOT_FOUND', `dev container config \`${file}\` not found`, {
        hint: 'Check the path given to `--config` (it is relative to the current directory).',
      });
    }
    return file;
  }
  for (const candidate of TOP_LEVEL_CANDIDATES) {
    const file = join(workspaceFolder, candidate);
    if (isFile(file)) return file;
  }
  const subfolderConfigs = listSubfolderConfigs(workspaceFolder);
  if (subfolderConfigs.length === 1) return subfolderConfigs[0]!;
  if (subfolderConfigs.length > 1) {
    const listed = subfolderConfigs.map((file) => relative(workspaceFolder, file)).join(', ');
    const example = relative(process.cwd(), subfolderConfigs[0]!) || subfolderConfigs[0]!;
    throw new DevenvError(
      'CONFIG_AMBIGUOUS',
      `\`${workspaceFolder}\` has several dev container configs: ${listed}`,
      { hint: `Pick one with \`--config\`, e.g. \`--config ${example}\`.` },
    );
  }
  throw new DevenvError(
    'CONFIG_NOT_FOUND',
    `no dev container config in \`${workspaceFolder}\` (looked for .devcontainer/devcontainer.json, .devcontainer.json and .devcontainer/<folder>/devcontainer.json)`,
    { hint: 'Run `devenv init` to create one, or pass `--config <file>`.' },
  );
}
