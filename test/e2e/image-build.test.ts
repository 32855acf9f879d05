import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, inject, it } from 'vitest';

import { testUser, uidOf } from '../support/devenv-cli.js';
import { useSuite } from '../support/suite.js';

const registry = inject('devenvE2eRegistry');
const busybox = `${registry}/busybox:latest`;
const debian = `${registry}/debian:bookworm`;

interface BuildJson {
  outcome: string;
  imageId: string;
  manifestDigest: string;
  references: string[];
  stepsRun: number;
  stepsCached: number;
}

/** The entry names of a layer tar (gzip or not). */
async function layerEntries(file: string): Promise<string[]> {
  let data = readFileSync(file);
  if (data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data);
  const names: string[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    names.push(h.name);
    stream.on('end', () => next());
    stream.resume();
  });
  const done = new Promise<void>((r) => extract.on('finish', () => r()));
  extract.end(data);
  await done;
  return names;
}

/** The layer blobs of the one image in an `image export --format oci-dir` folder, bottom first. */
function exportedLayers(dir: string): string[] {
  const blob = (digest: string): string => join(dir, 'blobs', ...digest.split(':'));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0]?.digest ?? ''), 'utf8')) as { layers: Array<{ digest: string }> };
  return manifest.layers.map((l) => blob(l.digest));
}

/** Write a context directory with these files (world-readable, so the rootless test user can read it). */
function makeContext(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, name), text, { mode: 0o644 });
  }
  return dir;
}

describe.each(['root', 'rootless'] as const)('devenv image build (%s)', (mode) => {
  const s = useSuite(mode, 'image-build');
  const build = (ctx: string, flags: string[] = []) => {
    const r = s.run(['image', 'build', '--json', ...flags, ctx], { timeoutMs: 300_000 });
    return { r, json: r.code === 0 ? (JSON.parse(r.stdout) as BuildJson) : undefined };
  };
  const runIn = (image: string, script: string) => s.run(['container', 'run', '--rm', image, 'sh', '-c', script], { timeoutMs: 60_000 });

  it('builds a non-root user whose files are owned right, with USER, WORKDIR, ENV and CMD in the config', () => {
    const ctx = makeContext(join(s.dir, 'user'), {
      Dockerfile: [
        `FROM ${debian}`,
        'RUN useradd -m -u 1001 -s /bin/sh dev && mkdir /data && chown dev:dev /data && rm /etc/issue',
        'USER dev',
        'WORKDIR /home/dev/app',
        'ENV GREETING="hello there"',
        'RUN echo "$GREETING" > note && touch /data/mine',
        'COPY --chown=dev:dev hello.txt ./',
        'CMD ["sh", "-c", "id -un"]',
        '',
      ].join('\n'),
      'hello.txt': 'hi\n',
    });
    const { r, json } = build(ctx, ['-t', 'built/user:1']);
    expect(r.code, r.stderr).toBe(0);
    expect(json?.references).toEqual(['docker.io/built/user:1']);
    const check = runIn('built/user:1', 'id -un; pwd; stat -c "%U:%G %a" /home/dev/app/note /data/mine /home/dev/app/hello.txt; cat note; test -e /etc/issue || echo gone');
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout.split('\n')).toEqual(['dev', '/home/dev/app', 'dev:dev 644', 'dev:dev 644', 'dev:dev 644', 'hello there', 'gone', '']);
    const cmd = s.run(['container', 'run', '--rm', 'built/user:1']);
    expect(cmd.stdout.trim()).toBe('dev');
    const inspect = s.run(['image', 'inspect', 'built/user:1']);
    expect(inspect.stdout).toContain('"User": "dev"');
  });

  it('keeps a directory a RUN replaced opaque (.wh..wh..opq) and a removed file whited out, in the image, its export and COPY --from', async () => {
    const ctx = makeContext(join(s.dir, 'opaque'), {
      Dockerfile: [
        `FROM ${busybox} AS replaced`,
        'RUN mkdir -p /etc/foo/sub /opt/keep && echo a > /etc/foo/old && echo b > /etc/foo/sub/deep && touch /opt/keep/x /opt/keep/y',
        'COPY lower.txt /etc/foo/',
        'RUN rm -rf /etc/foo && mkdir /etc/foo && touch /etc/foo/new && rm /opt/keep/x',
        `FROM ${busybox}`,
        'COPY --from=replaced /etc/foo /copied/',
        '',
      ].join('\n'),
      'lower.txt': 'from a COPY layer\n',
    });
    const { r } = build(ctx, ['-t', 'built/opaque:1', '--target', 'replaced']);
    expect(r.code, r.stderr).toBe(0);
    const ls = runIn('built/opaque:1', 'ls -A /etc/foo; echo --; ls -A /opt/keep');
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toBe('new\n--\ny\n');
    const outDir = join(s.dir, 'opaque-out');
    mkdirSync(outDir, { mode: 0o755 });
    if (mode === 'rootless') chownSync(outDir, uidOf(testUser()), uidOf(testUser()));
    const out = join(outDir, 'export');
    const exported = s.run(['image', 'export', '--format', 'oci-dir', '-o', out, 'built/opaque:1']);
    expect(exported.code, exported.stderr).toBe(0);
    const layers = exportedLayers(out);
    const top = await layerEntries(layers[layers.length - 1] as string);
    expect(top).toContain('etc/foo/.wh..wh..opq');
    expect(top).toContain('etc/foo/new');
    expect(top).toContain('opt/keep/.wh.x');
    expect(top.filter((n) => n.startsWith('etc/foo/') && !['etc/foo/', 'etc/foo/.wh..wh..opq', 'etc/foo/new'].includes(n))).toEqual([]);
    // the opaque marker comes right after its directory, before anything in it (tar readers apply it in order)
    expect(top.indexOf('etc/foo/.wh..wh..opq')).toBe(top.indexOf('etc/foo/') + 1);
    // COPY --from reads the stage's layers merged as the overlay shows them
    const copied = build(ctx, ['-t', 'built/opaque:copy']);
    expect(copied.r.code, copied.r.stderr).toBe(0);
    expect(runIn('built/opaque:copy', 'ls -A /copied').stdout).toBe('new\n');
  });

  it('COPY and WORKDIR below existing directories keep their mode and owner (/tmp stays 1777)', () => {
    const ctx = makeContext(join(s.dir, 'parents'), {
      Dockerfile: [`FROM ${busybox}`, 'COPY f.txt /tmp/copied/', 'COPY d/ /tmp/', 'WORKDIR /root/work', ''].join('\n'),
      'f.txt': 'f\n',
      'd/inner.txt': 'i\n',
    });
    const { r } = build(ctx, ['-t', 'built/parents:1']);
    expect(r.code, r.stderr).toBe(0);
    const st = runIn('built/parents:1', 'stat -c "%a %u:%g %n" /tmp /root /tmp/copied/f.txt /tmp/inner.txt /root/work');
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout.split('\n')).toEqual(['1777 0:0 /tmp', '700 0:0 /root', '644 0:0 /tmp/copied/f.txt', '644 0:0 /tmp/inner.txt', '755 0:0 /root/work', '']);
  });

  it('uses ARG defaults and --build-arg values, and warns about unused build args', () => {
    const ctx = makeContext(join(s.dir, 'args'), {
      Dockerfile: ['ARG BASE', 'FROM ${BASE}', 'ARG V=default', 'ARG W', 'RUN echo "$V ${W:-unset}" > /v', ''].join('\n'),
    });
    const a = build(ctx, ['-t', 'built/args:a', '--build-arg', `BASE=${busybox}`]);
    expect(a.r.code, a.r.stderr).toBe(0);
    expect(runIn('built/args:a', 'cat /v').stdout).toBe('default unset\n');
    const b = build(ctx, ['-t', 'built/args:b', '--build-arg', `BASE=${busybox}`, '--build-arg', 'V=given', '--build-arg', 'W=w', '--build-arg', 'NOPE=1']);
    expect(b.r.code, b.r.stderr).toBe(0);
    expect(runIn('built/args:b', 'cat /v').stdout).toBe('given w\n');
    expect(b.r.stderr).toContain('NOPE');
  });

  it('builds multi-stage with --target and COPY --from, skipping stages the target does not need', () => {
    const ctx = makeContext(join(s.dir, 'stages'), {
      Dockerfile: [
        `FROM ${busybox} AS builder`,
        'RUN mkdir /out && echo built > /out/artifact',
        `FROM ${busybox} AS unused`,
        'RUN exit 1',
        `FROM ${busybox}`,
        'COPY --from=builder /out/artifact /usr/local/share/',
        'RUN cat /usr/local/share/artifact',
        '',
      ].join('\n'),
    });
    const full = build(ctx, ['-t', 'built/stages:final']);
    expect(full.r.code, full.r.stderr).toBe(0);
    expect(runIn('built/stages:final', 'cat /usr/local/share/artifact; test -e /out || echo no-out').stdout).toBe('built\nno-out\n');
    const target = build(ctx, ['-t', 'built/stages:builder', '--target', 'builder']);
    expect(target.r.code, target.r.stderr).toBe(0);
    expect(runIn('built/stages:builder', 'cat /out/artifact').stdout).toBe('built\n');
  });

  it('honours .dockerignore (with ! exceptions) and globs', () => {
    const ctx = makeContext(join(s.dir, 'ignore'), {
      Dockerfile: `FROM ${busybox}\nCOPY . /ctx/\nCOPY *.md /docs/\n`,
      '.dockerignore': 'secret.txt\nlogs/\n*.md\n!README.md\n',
      'secret.txt': 'no\n',
      'kept.txt': 'yes\n',
      'logs/a.log': 'no\n',
      'README.md': 'readme\n',
      'NOTES.md': 'no\n',
    });
    const { r } = build(ctx, ['-t', 'built/ignore:1']);
    expect(r.code, r.stderr).toBe(0);
    const ls = runIn('built/ignore:1', 'ls -A /ctx /docs');
    // Docker sends .dockerignore and the Dockerfile too unless they are listed
    expect(ls.stdout).toBe('/ctx:\n.dockerignore\nDockerfile\nREADME.md\nkept.txt\n\n/docs:\nREADME.md\n');
  });

  it('rebuilds an unchanged Dockerfile from the cache, and only the edited last step after an edit', () => {
    const lines = [`FROM ${busybox}`, 'ENV A=1', 'RUN echo one > /one', 'COPY f.txt /f.txt', 'RUN echo two > /two', ''];
    const ctx = makeContext(join(s.dir, 'cache'), { Dockerfile: lines.join('\n'), 'f.txt': 'f\n' });
    const first = build(ctx, ['-t', 'built/cache:1']);
    expect(first.r.code, first.r.stderr).toBe(0);
    expect(first.json?.stepsRun).toBe(3);
    const again = build(ctx, ['-t', 'built/cache:1']);
    expect(again.r.code, again.r.stderr).toBe(0);
    expect(again.json).toMatchObject({ stepsRun: 0, stepsCached: 3, imageId: first.json?.imageId, manifestDigest: first.json?.manifestDigest });
    expect(again.r.stderr).toContain('"cached":true');
    lines[4] = 'RUN echo three > /two';
    writeFileSync(join(ctx, 'Dockerfile'), lines.join('\n'));
    const edited = build(ctx, ['-t', 'built/cache:1']);
    expect(edited.r.code, edited.r.stderr).toBe(0);
    expect(edited.json).toMatchObject({ stepsRun: 1, stepsCached: 2 });
    expect(runIn('built/cache:1', 'cat /one /two').stdout).toBe('one\nthree\n');
    writeFileSync(join(ctx, 'f.txt'), 'changed\n');
    const copied = build(ctx, ['-t', 'built/cache:1']);
    expect(copied.json).toMatchObject({ stepsRun: 2, stepsCached: 1 });
    const nocache = build(ctx, ['-t', 'built/cache:1', '--no-cache']);
    expect(nocache.json).toMatchObject({ stepsRun: 3, stepsCached: 0 });
  });

  it.each([
    ['an unknown instruction', `FROM ${busybox}\nRUN true\nFROBNICATE x\n`, 'Dockerfile:3', 'unknown instruction'],
    ['COPY outside the context', `FROM ${busybox}\nCOPY ../outside /x\n`, 'Dockerfile:2', 'outside the build context'],
    ['a missing stage', `FROM ${busybox}\nCOPY --from=nosuchstage /x /x\n`, 'Dockerfile:2', 'nosuchstage'],
    ['a failing RUN', `FROM ${busybox}\nRUN echo partial > /p\nRUN exit 3\n`, 'Dockerfile:3', 'exit code 3'],
  ])('fails on %s with the line number and leaves no image or container', (_what, text, where, message) => {
    const dir = join(s.dir, `bad-${where.replace(/\W/g, '')}-${message.replace(/\W/g, '')}`);
    const ctx = makeContext(dir, { Dockerfile: text });
    const before = s.run(['image', 'ls', '--json']).stdout;
    const r = s.run(['image', 'build', '-t', 'built/bad:1', '-f', join(ctx, 'Dockerfile'), ctx], { timeoutMs: 120_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(where);
    expect(r.stderr).toContain(message);
    expect(s.run(['image', 'ls', '--json']).stdout).toBe(before);
    expect(JSON.parse(s.run(['container', 'ls', '-a', '--json']).stdout)).toEqual([]);
  });

  it('builds a build.dockerfile project with `devenv build` (ensureProjectImage) and its remoteUser exists in the image', () => {
    const project = makeContext(join(s.dir, 'project'), {
      '.devcontainer/devcontainer.json': JSON.stringify({
        build: { dockerfile: 'Dockerfile', context: '..', args: { WHO: 'vscode' }, options: ['--no-cache=false', '--pull'] },
        remoteUser: 'vscode',
      }),
      '.devcontainer/Dockerfile': [`FROM ${debian}`, 'ARG WHO', 'RUN useradd -m -s /bin/bash "$WHO"', 'COPY readme.txt /home/$WHO/', ''].join('\n'),
      'readme.txt': 'project\n',
    });
    const r = s.run(['build', '--json', '--workspace-folder', project, '--image-name', 'built/project:1'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as BuildJson;
    expect(json.references[0]).toMatch(/^docker\.io\/library\/devenv-[0-9a-z]{12}-devcontainer:latest$/);
    expect(json.references[1]).toBe('docker.io/built/project:1');
    expect(runIn('built/project:1', 'id -u vscode && cat /home/vscode/readme.txt').stdout).toMatch(/^\d+\nproject\n$/);
    // the config's settings travel with the image (devcontainer.metadata), as `devcontainer build` does
    expect((json as BuildJson & { metadata: unknown[] }).metadata).toEqual([{ remoteUser: 'vscode' }]);
  });

  it('brings a build.dockerfile project up with `devenv up` as its non-root remoteUser, then reuses the cached image', () => {
    const project = join(s.dir, 'project');
    const up = s.run(['up', '--json', '--workspace-folder', project], { timeoutMs: 300_000 });
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ outcome: 'success', remoteUser: 'vscode' });
    const who = s.run(['exec', '--workspace-folder', project, 'sh', '-c', 'id -un; stat -c %U /home/vscode/readme.txt']);
    expect(who.stdout).toBe('vscode\nroot\n');
    expect(s.run(['down', '--workspace-folder', project]).code).toBe(0);
    const again = s.run(['up', '--json', '--workspace-folder', project], { timeoutMs: 300_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('CACHED');
    expect(s.run(['down', '--workspace-folder', project]).code).toBe(0);
  });
});
