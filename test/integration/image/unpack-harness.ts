/** Running `devenv-runtime unpack` as root or as the rootless test user, and proving nothing changed outside DIR. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT, testUser, type Mode } from '../../support/devenv-cli.js';
import type { LayerFixture } from '../../fixtures/layers/make-hostile-layers.js';

export const RUNTIME = join(REPO_ROOT, 'native', 'build', 'Release', 'devenv-runtime');

export interface RuntimeMessage {
  type: string;
  code?: string;
  message?: string;
  path?: string;
  exitCode?: number;
}

export interface UnpackRun {
  code: number;
  stderr: string;
  dest: string;
  error?: RuntimeMessage;
  warnings: string[];
  /** stderr lines that are not JSON messages (must be none) */
  stray: string[];
}

export function parseStderr(stderr: string): { errors: RuntimeMessage[]; warnings: string[]; stray: string[] } {
  const errors: RuntimeMessage[] = [];
  const warnings: string[] = [];
  const stray: string[] = [];
  for (const line of stderr.split('\n').filter((l) => l.trim())) {
    try {
      const m = JSON.parse(line) as RuntimeMessage;
      if (m.type === 'error') errors.push(m);
      else if (m.type === 'warning') warnings.push(m.message ?? '');
      else stray.push(line);
    } catch {
      stray.push(line);
    }
  }
  return { errors, warnings, stray };
}

/** Subordinate id start of a user in /etc/subuid or /etc/subgid. */
export function subIdStart(file: string, user: string): number {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`${file} has no range for ${user}: run \`bash .ci/run\` (as root) to prepare this machine`);
  return Number(line.split(':')[1]);
}

/** Every node under dir (lstat: type, mode, owner, size, mtime), skipping the subtree `skip`. */
export function snapshot(dir: string, skip?: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (path: string) => {
    const st = lstatSync(path);
    out.set(path, `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${st.nlink}`);
    if (st.isDirectory() && path !== skip) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
  return out;
}

function hash(path: string): string {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'absent';
}

/** What a hostile layer might aim at on the host: /, /etc, /tmp and a few files. */
export function hostState(): string {
  const shallow = (dir: string) =>
    readdirSync(dir)
      .sort()
      .map((n) => {
        try {
          const st = lstatSync(join(dir, n));
          return `${n}:${st.mode.toString(8)}:${st.uid}:${st.ino}`;
        } catch {
          return `${n}:gone`;
        }
      });
  const etc = shallow('/etc').join(',');
  const root = shallow('/').join(',');
  const tmpEscapes = readdirSync('/tmp').filter((n) => n.startsWith('devenv-escaped'));
  return JSON.stringify({ etc, root, tmpEscapes, passwd: hash('/etc/passwd'), shadow: hash('/etc/shadow') });
}

let counter = 0;

/** A fresh, empty `<store>/layers/<name>-<n>` (owned by the test user when rootless, as the whole store is). */
export function makeDest(store: string, name: string, owner?: number): string {
  const dest = join(store, 'layers', `${name}-${++counter}`);
  mkdirSync(dest, { recursive: true });
  if (owner !== undefined) chownSync(dest, owner, owner);
  return dest;
}

/** Unpack a fixture into dest, as root or as the test user through runuser. */
export function runUnpack(
  mode: Mode,
  dest: string,
  fx: LayerFixture,
  options: { idmap?: string; env?: Record<string, string> } = {},
): UnpackRun {
  const args = ['unpack', '--layer', fx.path, '--dest', dest, '--compression', fx.compression];
  if (mode === 'rootless') args.push('--rootless', '--idmap', options.idmap ?? '');
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const r =
    mode === 'root'
      ? spawnSync('env', [...env, RUNTIME, ...args], { encoding: 'utf8', timeout: 120_000 })
      : spawnSync('runuser', ['-u', testUser(), '--', 'env', ...env, RUNTIME, ...args], { encoding: 'utf8', timeout: 120_000 });
  const { errors, warnings, stray } = parseStderr(r.stderr ?? '');
  return { code: r.status ?? -1, stderr: r.stderr ?? '', dest, ...(errors[0] ? { error: errors[0] } : {}), warnings, stray };
}

/** All xattrs of a path (not following a symlink), via python3's os.getxattr. */
export function xattrs(path: string): Record<string, string> {
  const script =
    'import os,sys,json\np=sys.argv[1]\nprint(json.dumps({n: os.getxattr(p,n,follow_symlinks=False).decode("latin-1") for n in os.listxattr(p,follow_symlinks=False)}))';
  const r = spawnSync('python3', ['-c', script, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reading xattrs of ${path} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>;
}
