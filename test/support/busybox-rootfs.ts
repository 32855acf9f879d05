import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT } from './devenv-cli.js';

const BUSYBOX = '/bin/busybox';
let probeBuilt: string | undefined;

/** Build the static probe (test/fixtures/probe) once per test run. */
export function probeBinary(): string {
  if (probeBuilt) return probeBuilt;
  const out = join(REPO_ROOT, 'test', 'fixtures', 'probe', 'probe');
  const r = spawnSync('bash', [join(REPO_ROOT, 'test', 'fixtures', 'probe', 'build.sh'), out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the probe failed: ${r.stderr}`);
  probeBuilt = out;
  return out;
}

/**
 * A minimal root file system from Debian's busybox-static: /bin/busybox with its applets, /etc/passwd with
 * root and a user 1000, and the probe at /probe. Owned by `uid` (the test user for rootless runs).
 */
export function makeBusyboxRootfs(dir: string, uid = 0, gid = 0): string {
  if (!existsSync(BUSYBOX)) throw new Error('busybox-static is not installed: run `bash .ci/run` (apt-get install busybox-static)');
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'home/user']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  const applets = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nuser:x:1000:\nwheel:x:10:user\nnogroup:x:65534:\n');
  writeFileSync(join(dir, 'etc', 'hostname'), 'rootfs\n');
  writeFileSync(join(dir, 'bin', 'not-executable'), '#!/bin/sh\necho no\n', { mode: 0o644 });
  copyFileSync(probeBinary(), join(dir, 'probe'));
  chmodSync(join(dir, 'probe'), 0o755);
  if (uid !== 0 || gid !== 0) spawnSync('chown', ['-R', `${uid}:${gid}`, dir]);
  return dir;
}
