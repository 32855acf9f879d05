/**
 * Dev Container Features end to end: fixture Features (test/fixtures/features) installed by `devenv up`, the
 * lockfile, the fingerprint and `devenv ci`. The registry holds `features/base:1` and `features/env-hook:1` as OCI
 * artifacts (test/support/e2e-registry-setup.ts).
 *
 * The `up` tests need `up` to install Features (prepareFeaturesBuild → the Dockerfile builder); lock and
 * fingerprint only need the Feature services.
 */
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, inject, it } from 'vitest';

import { devenv, testUser, uidOf } from '../support/devenv-cli.js';
import { devcontainerJson, makeProject } from '../support/project-fixture.js';
import { useSuite } from '../support/suite.js';
import { spawnSync } from 'node:child_process';

const registry = inject('devenvE2eRegistry');
const image = `${registry}/busybox:latest`;
const FEATURES = fileURLToPath(new URL('../fixtures/features/', import.meta.url));

describe.each(['root', 'rootless'] as const)('Features (%s)', (mode) => {
  const s = useSuite(mode, 'features');

  /** A project with devcontainer.json and the named fixture Features in .devcontainer/features/. */
  const project = (name: string, config: object, features: string[] = []): string => {
    const folder = makeProject(s.dir, name, mode, devcontainerJson(config));
    for (const f of features) cpSync(join(FEATURES, f), join(folder, '.devcontainer', 'features', f), { recursive: true });
    if (mode === 'rootless') spawnSync('chown', ['-R', `${uidOf(testUser())}:${uidOf(testUser())}`, folder]);
    return folder;
  };
  const up = (folder: string, extra: string[] = []) => s.run(['up', '--json', '--workspace-folder', folder, ...extra], { timeoutMs: 240_000 });
  const exec = (folder: string, script: string) => s.run(['exec', '--workspace-folder', folder, 'sh', '-c', script]);
  const down = (folder: string) => s.run(['down', '--workspace-folder', folder]);

  it('locks an OCI Feature by reference and caches it in the store', () => {
    const folder = project('lock-oci', { image, features: { [`${registry}/features/base:1`]: { greeting: 'hi' } } });
    const r = s.run(['lock', '--json', '--workspace-folder', folder]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { features: Array<{ reference: string; integrity: string }>; baseImage: { resolved: string }; fingerprint: string };
    expect(result.features[0]?.reference).toBe(`${registry}/features/base:1`);
    const digest = result.features[0]?.integrity ?? '';
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(existsSync(join(s.root, 'features', 'content', digest.slice(7), 'install.sh'))).toBe(true);
    expect(result.baseImage.resolved).toMatch(new RegExp(`^${registry.replace(/\./g, '\\.')}/busybox@sha256:`));
    const lockfile = JSON.parse(readFileSync(join(folder, '.devcontainer', 'devcontainer-lock.json'), 'utf8')) as { features: Record<string, { resolved: string }>; devenv: { fingerprint: string } };
    expect(lockfile.features[`${registry}/features/base:1`]?.resolved).toBe(`${registry}/features/base@${digest}`);
    expect(lockfile.devenv.fingerprint).toBe(result.fingerprint);
  });

  it('gives the same fingerprint in two stores and two folders', () => {
    const config = { image, features: { [`${registry}/features/base:1`]: {}, './features/options': { version: '2.0' } }, remoteEnv: { W: '${localWorkspaceFolder}' } };
    const a = project('fp-one', config, ['options']);
    const b = project('fp-two-elsewhere', config, ['options']);
    const other = join(s.dir, 'second-store');
    mkdirSync(other);
    if (mode === 'rootless') chownSync(other, uidOf(testUser()), uidOf(testUser()));
    const one = s.run(['fingerprint', '--json', '--workspace-folder', a]);
    const two = devenv(['fingerprint', '--json', '--workspace-folder', b, '--root', other], { mode, root: other });
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr + two.stdout).toBe(0);
    const fp1 = (JSON.parse(one.stdout) as { fingerprint: string }).fingerprint;
    expect(fp1).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((JSON.parse(two.stdout) as { fingerprint: string }).fingerprint).toBe(fp1);
  });

  it('up installs local Features with options, dependsOn and installsAfter in order', () => {
    const folder = project(
      'order',
      { image, features: { './features/installs-after': {}, './features/depends-on': {}, './features/options': { version: '2.0', 'install-tools': true } } },
      ['installs-after', 'depends-on', 'options', 'base'],
    );
    const r = up(folder);
    expect(r.code, r.stderr).toBe(0);
    const installed = exec(folder, 'cat /usr/local/share/devenv-features/installed');
    expect(installed.code, installed.stderr).toBe(0);
    const lines = installed.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['base', 'options', 'depends-on', 'installs-after']);
    expect(lines[0]).toContain('GREETING=from-dependency');
    expect(lines[1]).toContain('VERSION=2.0');
    expect(lines[1]).toContain('INSTALL_TOOLS=true');
    expect(lines[1]).toContain('_REMOTE_USER=root');
    expect(down(folder).code).toBe(0);
  });

  it('up reports a dependsOn cycle naming both Features', () => {
    const folder = project('cycle', { image, features: { './features/cycle-a': {} } }, ['cycle-a', 'cycle-b']);
    const r = up(folder);
    expect(r.code).toBe(1);
    const error = JSON.parse(r.stdout) as { code: string; message: string };
    expect(error.code).toBe('FEATURE_CYCLE');
    expect(error.message).toContain('`./features/cycle-a` → `./features/cycle-b` → `./features/cycle-a`');
  });

  it('a Feature contributes containerEnv and a postCreateCommand (run before the config’s)', () => {
    const folder = project('env-hook', { image, features: { [`${registry}/features/env-hook:1`]: {} }, postCreateCommand: 'cat /tmp/feature-post-create > /tmp/config-saw' }, []);
    const r = up(folder);
    expect(r.code, r.stderr).toBe(0);
    const out = exec(folder, 'echo "$HELLO_FEATURE"; env-hook-hello; cat /tmp/config-saw');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.trim().split('\n')).toEqual(['hello from a feature', 'hello-from-env-hook', 'feature-post-create']);
    expect(down(folder).code).toBe(0);
  });

  it('up writes the lockfile; --frozen-lockfile then refuses a change', () => {
    const folder = project('frozen', { image, features: { [`${registry}/features/base:1`]: {} } });
    const r = up(folder);
    expect(r.code, r.stderr).toBe(0);
    const lockfile = join(folder, '.devcontainer', 'devcontainer-lock.json');
    expect(JSON.parse(readFileSync(lockfile, 'utf8')).features[`${registry}/features/base:1`].integrity).toMatch(/^sha256:/);
    expect(down(folder).code).toBe(0);
    writeFileSync(
      join(folder, '.devcontainer', 'devcontainer.json'),
      JSON.stringify({ image, features: { [`${registry}/features/base:1`]: {}, [`${registry}/features/env-hook:1`]: {} } }),
    );
    const frozen = up(folder, ['--frozen-lockfile']);
    expect(frozen.code).toBe(1);
    const error = JSON.parse(frozen.stdout) as { code: string; message: string };
    expect(error.code).toBe('LOCKFILE_DRIFT');
    expect(error.message).toContain(`${registry}/features/env-hook:1`);
  });

  it('`devenv build` bakes Features and the config into an image whose metadata label alone gives `up` the same environment', () => {
    const folder = project(
      'build-source',
      {
        image,
        features: { [`${registry}/features/env-hook:1`]: {}, './features/base': { greeting: 'built' } },
        remoteUser: 'user',
        containerEnv: { FROM_CONFIG: 'config-env' },
        postCreateCommand: 'echo "$FROM_CONFIG $(id -un)" > /tmp/config-post-create',
      },
      ['base'],
    );
    // the hooks run as `user` and write to /tmp: it must still be 1777 after the Features' COPY into /tmp/…
    const built = s.run(['build', '--json', '--workspace-folder', folder, '--image-name', 'built/devcontainer:1'], { timeoutMs: 240_000 });
    expect(built.code, built.stderr).toBe(0);
    const result = JSON.parse(built.stdout) as { references: string[]; features: string[]; metadata: Array<Record<string, unknown>> };
    expect(result.references).toContain('docker.io/built/devcontainer:1');
    expect([...result.features].sort()).toEqual(['./features/base', `${registry}/features/env-hook:1`]);
    // the label as stored in the image: one entry per Feature, then the config's own
    const inspect = s.run(['image', 'inspect', 'built/devcontainer:1']);
    expect(inspect.code, inspect.stderr).toBe(0);
    const label = /"devcontainer\.metadata": (".*")/.exec(inspect.stdout)?.[1];
    expect(label, inspect.stdout).toBeDefined();
    const entries = JSON.parse(JSON.parse(label as string) as string) as Array<Record<string, unknown>>;
    expect(entries).toEqual(result.metadata);
    expect(entries.map((e) => e.id)).toEqual([...result.features, undefined]);
    expect(entries[entries.length - 1]).toEqual({ remoteUser: 'user', containerEnv: { FROM_CONFIG: 'config-env' }, postCreateCommand: 'echo "$FROM_CONFIG $(id -un)" > /tmp/config-post-create' });

    const user = project('build-user', { image: 'built/devcontainer:1' });
    const r = up(user);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'success', remoteUser: 'user' });
    const out = exec(user, 'id -un; echo "$FROM_CONFIG"; echo "$HELLO_FEATURE"; cat /tmp/config-post-create /tmp/feature-post-create; cut -d" " -f1 /usr/local/share/devenv-features/installed | sort');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.trim().split('\n')).toEqual(['user', 'config-env', 'hello from a feature', 'config-env user', 'feature-post-create', 'base', 'env-hook']);
    expect(down(user).code).toBe(0);
  });

  it('ci passes the exit code through and removes the environment', () => {
    const folder = project('ci', { image, features: { './features/base': {} } }, ['base']);
    const failing = s.run(['ci', '--workspace-folder', folder, '--', 'false'], { timeoutMs: 240_000 });
    expect(failing.code, failing.stderr).toBe(1);
    const three = s.run(['ci', '--workspace-folder', folder, '--', 'sh', '-c', 'test -f /usr/local/share/devenv-features/installed && exit 3'], { timeoutMs: 240_000 });
    expect(three.code, three.stderr).toBe(3);
    const ps = s.run(['ps', '--json']);
    expect(JSON.parse(ps.stdout)).toEqual([]);
  });
});
