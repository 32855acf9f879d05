import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

import { isErrnoCode } from '../../errors.js';
import { acquireFileLock, type FileLock } from '../../host/file-lock.js';
import { readRecord, type ContainerRecord } from '../../runtime/container-store.js';

/**
 * Which container belongs to which project: `projects/<devcontainerId>` is a symlink to the container id (one
 * readlink on `up`'s hot path, no scan of every container), and `projects/<devcontainerId>.lock` serialises the
 * `up`/`down` of one project so two `up` at once give one container.
 */
function projectsDir(root: string): string {
  return join(root, 'projects');
}

/** The container of a project, when there is one (a link whose container is gone counts as none). */
export function findProjectContainer(root: string, devcontainerId: string): ContainerRecord | undefined {
  let id: string;
  try {
    id = readlinkSync(join(projectsDir(root), devcontainerId));
  } catch {
    return undefined;
  }
  return readRecord(root, id);
}

export function linkProjectContainer(root: string, devcontainerId: string, containerId: string): void {
  mkdirSync(projectsDir(root), { recursive: true, mode: 0o700 });
  const link = join(projectsDir(root), devcontainerId);
  const tmp = `${link}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(containerId, tmp);
  // rename(2) replaces the old link itself: readers see the old or the new container, never none
  try {
    renameSync(tmp, link);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

export function unlinkProjectContainer(root: string, devcontainerId: string, containerId: string): void {
  const link = join(projectsDir(root), devcontainerId);
  try {
    if (readlinkSync(link) === containerId) rmSync(link, { force: true });
  } catch (error) {
    if (!isErrnoCode(error, 'ENOENT')) throw error;
  }
}

/** Hold the project's lock (waits while another `up`/`down` of the same project works). */
export async function lockProject(root: string, devcontainerId: string, what: string): Promise<FileLock> {
  mkdirSync(projectsDir(root), { recursive: true, mode: 0o700 });
  return acquireFileLock(join(projectsDir(root), `${devcontainerId}.lock`), {
    what,
    timeoutMs: 600_000,
    busyHint: 'Another `devenv up` or `down` of this project is still working; wait for it.',
  });
}
