/**
 * Where the workspace goes in the container, as the devcontainer CLI decides it by default
 * (`--mount-workspace-git-root`): the enclosing git repository's root is mounted at `/workspaces/<repo name>` and
 * the workspace folder is the matching path below it; outside a repository the folder itself is mounted at
 * `/workspaces/<folder name>`. Also the parser of Docker `--mount` strings (`workspaceMount`, `mounts` entries).
 */
import { statSync, type Stats } from 'node:fs';
import { basename, dirname, join, posix, relative, sep } from 'node:path';

import { DevenvError } from '../../errors.js';
import type { MountObject } from './config-types.js';

/** The default workspace mount and folder of a host folder. */
export interface WorkspaceLocation {
  /** What is mounted: the git root containing the workspace folder, or the folder itself. */
  hostMountFolder: string;
  /** `/workspaces/<basename of hostMountFolder>`. */
  containerMountFolder: string;
  /** The workspace folder's path in the container: containerMountFolder + its path below hostMountFolder. */
  containerWorkspaceFolder: string;
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined; // missing or not searchable: as if there were no .git there
  }
}

/**
 * The nearest folder at or above `folder` holding a `.git` (a directory, or a file for worktrees and submodules),
 * found without running git. Like git, the walk stops at a filesystem boundary.
 */
export function findGitRoot(folder: string): string | undefined {
  const device = statOrUndefined(folder)?.dev;
  if (device === undefined) return undefined;
  for (let current = folder; ; ) {
    const dotGit = statOrUndefined(join(current, '.git'));
    if (dotGit !== undefined && (dotGit.isDirectory() || dotGit.isFile())) return current;
    const parent = dirname(current);
    if (parent === current || statOrUndefined(parent)?.dev !== device) return undefined;
    current = parent;
  }
}

/** The default location (`workspaceFolder` is absolute and real). `mountGitRoot: false` mounts the folder itself. */
export function defaultWorkspaceLocation(workspaceFolder: string, mountGitRoot = true): WorkspaceLocation {
  const hostMountFolder = (mountGitRoot ? findGitRoot(workspaceFolder) : undefined) ?? workspaceFolder;
  const containerMountFolder = posix.join('/workspaces', basename(hostMountFolder));
  const below = relative(hostMountFolder, workspaceFolder).split(sep).join('/');
  return { hostMountFolder, containerMountFolder, containerWorkspaceFolder: posix.join(containerMountFolder, below) };
}

/** The bind mount of a default location. */
export function workspaceMountFor(location: WorkspaceLocation): MountObject {
  return { type: 'bind', source: location.hostMountFolder, target: location.containerMountFolder };
}

/** Fields of a `--mount` value: comma-separated, a field may be double-quoted (`"source=/a,b"`, `""` for a quote). */
function splitMountFields(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char !== '"') field += char;
      else if (text[i + 1] === '"') field += text[++i];
      else quoted = false;
    } else if (char === '"' && field === '') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  if (quoted) throw new Error('unterminated quote');
  fields.push(field);
  return fields.filter((entry) => entry.trim() !== '');
}

function parseBoolean(value: string): boolean | undefined {
  if (['', '1', 't', 'true'].includes(value.toLowerCase())) return true;
  if (['0', 'f', 'false'].includes(value.toLowerCase())) return false;
  return undefined;
}

/**
 * Parse a Docker `--mount` string: `type` (bind, volume — the default — or tmpfs), `source`/`src`,
 * `target`/`destination`/`dst`, `readonly`/`ro`. Other keys (`consistency`, `bind-propagation`, `volume-opt`…) are
 * ignored. `where` names it in errors, e.g. "devcontainer.json:4: `mounts[0]`".
 */
export function parseMountString(text: string, where = 'mount'): MountObject {
  const fail = (problem: string): never => {
    throw new DevenvError('CONFIG_INVALID', `${where}: invalid mount \`${text}\`: ${problem}`, {
      hint: 'Write it as `type=bind,source=/host/path,target=/container/path` (or `type=volume,source=name,target=…`).',
    });
  };
  let fields: string[];
  try {
    fields = splitMountFields(text);
  } catch {
    return fail('unterminated quote');
  }
  let type = 'volume';
  let source: string | undefined;
  let target: string | undefined;
  let readonly: boolean | undefined;
  for (const field of fields) {
    const equals = field.indexOf('=');
    const key = (equals === -1 ? field : field.slice(0, equals)).trim().toLowerCase();
    const value = equals === -1 ? '' : field.slice(equals + 1);
    switch (key) {
      case 'type':
        type = value.toLowerCase();
        break;
      case 'source':
      case 'src':
        source = value;
        break;
      case 'target':
      case 'destination':
      case 'dst':
        target = value;
        break;
      case 'readonly':
      case 'ro':
        readonly = parseBoolean(value) ?? fail(`\`${key}\` must be true or false (got \`${value}\`)`);
        break;
      default:
        break; // consistency, bind-propagation, volume-opt, tmpfs-size…: not ours to check
    }
  }
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') fail(`type must be bind, volume or tmpfs (got \`${type}\`)`);
  if (target === undefined || target === '') return fail('needs `target`');
  if (type === 'bind' && (source === undefined || source === '')) fail('type `bind` needs `source`');
  if (type === 'tmpfs' && source !== undefined) fail('type `tmpfs` cannot have `source`');
  const mount: MountObject = { type: type as MountObject['type'], target };
  if (source !== undefined && source !== '') mount.source = source;
  if (readonly !== undefined) mount.readonly = readonly;
  return mount;
}
