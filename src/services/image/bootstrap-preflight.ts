import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

import { DevenvError } from '../../errors.js';
import { parseSubIdFile, rangesForUser } from '../../runtime/idmap.js';
import { findExecutable, parseAptProxy } from './bootstrap-host.js';
import { namespaceArgv } from './bootstrap-script.js';

/** The host tools a bootstrap runs, found on the (sbin-extended) PATH. */
export interface BootstrapTools {
  debootstrap: string;
  bash: string;
  /** Absent only for root on a host where unshare cannot make namespaces (debootstrap then runs directly). */
  unshare?: string;
}

/** Ids a Debian tree uses: 0…65534 (nobody), so a rootless user needs 65535 subordinate ids after their own. */
const NEEDED_SUBIDS = 65535;

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function missingTool(name: string, pkg: string): DevenvError {
  return new DevenvError('RUNTIME_UNSUPPORTED', `image bootstrap: \`${name}\` is not installed`, {
    kind: 'external',
    hint: `Install it: \`sudo apt-get install ${pkg}\` (Debian/Ubuntu; other distributions package it under the same name).`,
  });
}

function userName(uid: number): string {
  try {
    return userInfo().username;
  } catch {
    return String(uid);
  }
}

function rootlessHint(user: string): string {
  return [
    `A user who is not root bootstraps inside a user namespace (unshare --map-root-user --map-auto). It needs:`,
    `the uidmap package (newuidmap/newgidmap); ${NEEDED_SUBIDS + 1} ids for ${user} in /etc/subuid and /etc/subgid`,
    `(\`sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}\`); unprivileged user namespaces allowed`,
    `(sysctl kernel.unprivileged_userns_clone=1, kernel.apparmor_restrict_unprivileged_userns=0). \`devenv doctor\` checks these.`,
    `Or bootstrap as root and hand the image over: \`sudo devenv image bootstrap debian:bookworm && sudo devenv image export debian:bookworm -o debian.tar && devenv image import debian.tar\`.`,
  ].join(' ');
}

/** The first /etc/subuid-style range of the user, checked to be large enough for a Debian tree. */
function checkSubIds(file: string, user: string, uid: number): void {
  const ranges = rangesForUser(parseSubIdFile(readText(file)), { name: user, uid });
  const first = ranges[0];
  if (!first || first.count < NEEDED_SUBIDS) {
    const found = first ? `its first range has ${first.count} ids` : 'it has none';
    throw new DevenvError('IDMAP_MISSING', `image bootstrap: ${user} needs ${NEEDED_SUBIDS} subordinate ids in ${file} to own a Debian tree; ${found}`, {
      kind: 'external',
      hint: rootlessHint(user),
    });
  }
}

/** The output of a failed probe, first line only (shown to the user; never used to decide anything). */
function firstLine(text: string | null | undefined): string {
  return (text ?? '').trim().split('\n')[0] ?? '';
}

/**
 * Find the tools and check that this user can run debootstrap: root directly (in namespaces when unshare can
 * make them), anyone else in a user namespace, probed once with `unshare … true` so a refusal is reported as
 * such, with the fix, before anything is downloaded.
 */
export function checkBootstrapHost(options: { path: string; rootless: boolean; suite: string; uid: number; warn: (message: string) => void }): BootstrapTools {
  const debootstrap = findExecutable('debootstrap', options.path);
  if (!debootstrap) throw missingTool('debootstrap', 'debootstrap');
  const bash = findExecutable('bash', options.path);
  if (!bash) throw missingTool('bash', 'bash');
  if (!findExecutable('tar', options.path)) throw missingTool('tar', 'tar');
  const scripts = process.env.DEBOOTSTRAP_DIR ? join(process.env.DEBOOTSTRAP_DIR, 'scripts') : '/usr/share/debootstrap/scripts';
  if (existsSync(scripts) && !existsSync(join(scripts, options.suite))) {
    throw new DevenvError('USAGE', `image bootstrap: this debootstrap does not know the suite \`${options.suite}\``, {
      hint: `Its suites are the files in ${scripts} (bookworm, trixie, sid …); a newer debootstrap package knows newer suites.`,
    });
  }
  const unshare = findExecutable('unshare', options.path);
  if (!options.rootless) {
    const probe = unshare ? spawnSync(unshare, [...namespaceArgv({ rootless: false, unshare }).slice(1), 'true'], { encoding: 'utf8', timeout: 10_000 }) : undefined;
    if (unshare && probe?.status === 0) return { debootstrap, bash, unshare };
    options.warn('image bootstrap: cannot make private mount and PID namespaces; running debootstrap directly');
    return { debootstrap, bash };
  }
  const user = userName(options.uid);
  if (!unshare) throw new DevenvError('RUNTIME_UNSUPPORTED', 'image bootstrap: `unshare` (util-linux) is not installed', { kind: 'external', hint: rootlessHint(user) });
  if (!findExecutable('newuidmap', options.path) || !findExecutable('newgidmap', options.path)) throw missingTool('newuidmap', 'uidmap');
  checkSubIds('/etc/subuid', user, options.uid);
  checkSubIds('/etc/subgid', user, options.uid);
  const probe = spawnSync(unshare, [...namespaceArgv({ rootless: true, unshare }).slice(1), 'true'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status !== 0) {
    const said = firstLine(probe.stderr) || (probe.error ? String(probe.error.message) : `exit ${probe.status ?? probe.signal}`);
    throw new DevenvError('RUNTIME_PERMISSION', `image bootstrap: cannot make a user namespace for debootstrap as ${user} (unshare said: ${said})`, {
      kind: 'external',
      hint: rootlessHint(user),
    });
  }
  return { debootstrap, bash, unshare };
}

/** apt's own proxy setting (`Acquire::http::Proxy`), so a bootstrap goes where apt goes; undefined without apt. */
export function readAptProxy(path: string): string | undefined {
  const aptConfig = findExecutable('apt-config', path);
  if (!aptConfig) return undefined;
  const r = spawnSync(aptConfig, ['dump', 'Acquire::http::Proxy'], { encoding: 'utf8', timeout: 5_000 });
  return r.status === 0 ? parseAptProxy(r.stdout) : undefined;
}
