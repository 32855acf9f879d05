import type { ArgSpec } from '../docker-args.js';
import { GLOBAL_ARG_SPECS } from '../container-flags.js';

/** Every project command takes these, as the devcontainer CLI does. */
export const PROJECT_ARG_SPECS: readonly ArgSpec[] = [
  { name: 'workspace-folder', type: 'string', description: 'the project folder (default: the current folder)' },
  { name: 'config', type: 'string', description: 'devcontainer.json to use (default: discovered in the workspace folder)' },
  ...GLOBAL_ARG_SPECS,
];

export const UP_ARG_SPECS: readonly ArgSpec[] = [
  { name: 'rebuild', type: 'boolean', aliases: ['remove-existing-container'], description: 'remove the existing container first and create it anew (named volumes and the workspace are kept)' },
  { name: 'skip-post-attach', type: 'boolean', description: 'do not run postAttachCommand' },
  { name: 'frozen-lockfile', type: 'boolean', description: 'fail when devcontainer-lock.json does not match the Features of devcontainer.json' },
  { name: 'watch', type: 'boolean', description: 'stay attached: rebuild and recreate the container when devcontainer.json (or the Dockerfile) changes' },
  { name: 'yes', short: 'y', type: 'boolean', description: 'with --watch, recreate without asking' },
  ...PROJECT_ARG_SPECS,
];

export const PROJECT_EXEC_ARG_SPECS: readonly ArgSpec[] = [
  { name: 'remote-env', type: 'multiple', description: 'extra environment variable for the command (KEY=VALUE)' },
  { name: 'user', short: 'u', type: 'string', description: 'run as this user instead of remoteUser' },
  { name: 'workdir', short: 'w', type: 'string', description: 'working directory (default: the workspace folder in the container)' },
  { name: 'tty', short: 't', type: 'boolean', description: 'force a pseudo-terminal (default: when stdin and stdout are terminals)' },
  { name: 'no-tty', short: 'T', type: 'boolean', description: 'never allocate a pseudo-terminal' },
  ...PROJECT_ARG_SPECS,
];

export const DOWN_ARG_SPECS: readonly ArgSpec[] = [
  { name: 'volumes', type: 'boolean', description: 'also remove the named volumes the project mounts' },
  ...PROJECT_ARG_SPECS,
];

/** The project-locating options of parsed project flags. */
export function projectLocation(flags: Record<string, unknown>): { workspaceFolder: string; configFile?: string } {
  const folder = typeof flags['workspace-folder'] === 'string' ? flags['workspace-folder'] : process.cwd();
  return { workspaceFolder: folder, ...(typeof flags.config === 'string' ? { configFile: flags.config } : {}) };
}
