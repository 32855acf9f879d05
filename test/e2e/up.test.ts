import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';

import { devenvSpawn, testUser, uidOf } from '../support/devenv-cli.js';
import { devcontainerJson, makeProject } from '../support/project-fixture.js';
import { devenvInPty } from '../support/pty.js';
import { useSuite } from '../support/suite.js';

const registry = inject('devenvE2eRegistry');
const image = `${registry}/busybox:latest`;

interface UpJson {
  outcome: string;
  containerId: string;
  remoteUser: string;
  remoteWorkspaceFolder: string;
  action: string;
  configChanged: boolean;
}

/** The pids of a process's descendants, deepest last (to signal devenv's node under runuser by PID). */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

/** devenv's own node process below a spawned `runuser … env … node bin/devenv up` (or `env … node …`). */
function devenvNodePid(spawned: number): number | undefined {
  return [spawned, ...descendants(spawned)].filter((p) => commandOf(p).startsWith(process.execPath) && commandOf(p).includes('bin/devenv up')).pop();
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

describe.each(['root', 'rootless'] as const)('devenv up (%s)', (mode) => {
  const s = useSuite(mode, 'up');
  const hostUid = mode === 'root' ? 0 : uidOf(testUser());

  const up = (folder: string, extra: string[] = []): { r: ReturnType<typeof s.run>; json?: UpJson } => {
    const r = s.run(['up', '--json', '--workspace-folder', folder, ...extra], { timeoutMs: 180_000 });
    return { r, ...(r.code === 0 ? { json: JSON.parse(r.stdout) as UpJson } : {}) };
  };
  const exec = (folder: string, command: string[]) => s.run(['exec', '--workspace-folder', folder, ...command]);
  const down = (folder: string) => s.run(['down', '--workspace-folder', folder]);

  it('passes values with spaces, quotes, $ and backslashes unchanged, and ${localEnv:X:default}', () => {
    const tricky = `a b 'c' "d" $HOME \\back \${notavar} %`;
    const folder = makeProject(s.dir, 'env', mode, devcontainerJson({
      image,
      containerEnv: { TRICKY: tricky },
      remoteEnv: { FALLBACK: '${localEnv:DEVENV_TEST_SURELY_UNSET:fallback value}', FROM_HOST: '${localEnv:DEVENV_TEST_SET}', FROM_CONTAINER: '${containerEnv:TRICKY}' },
    }));
    const { r, json } = up(folder);
    expect(r.code, r.stderr).toBe(0);
    expect(json).toMatchObject({ outcome: 'success', remoteUser: 'root', remoteWorkspaceFolder: '/workspaces/env', action: 'created' });
    const env = s.run(['exec', '--workspace-folder', folder, 'sh', '-c', 'printf "%s|" "$TRICKY" "$FALLBACK" "$FROM_CONTAINER"; pwd']);
    expect(env.code, env.stderr).toBe(0);
    expect(env.stdout).toBe(`${tricky}|fallback value|${tricky}|/workspaces/env\n`);
    expect(down(folder).code).toBe(0);
  });

  it('runs create hooks once, postStart on every start, postAttach on every up', () => {
    const log = '/workspaces/hooks/hooks.log';
    const folder = makeProject(s.dir, 'hooks', mode, devcontainerJson({
      image,
      onCreateCommand: `echo onCreate >> ${log}`,
      updateContentCommand: ['sh', '-c', `echo updateContent >> ${log}`],
      postCreateCommand: `echo postCreate >> ${log}`,
      postStartCommand: `echo postStart >> ${log}`,
      postAttachCommand: `echo postAttach >> ${log}`,
    }));
    const lines = (): string[] => readFileSync(join(folder, 'hooks.log'), 'utf8').trim().split('\n');
    expect(up(folder).r.code).toBe(0);
    expect(lines()).toEqual(['onCreate', 'updateContent', 'postCreate', 'postStart', 'postAttach']);
    const again = up(folder);
    expect(again.json?.action).toBe('running');
    expect(lines().slice(5)).toEqual(['postAttach']);
    expect(s.run(['stop', '--workspace-folder', folder]).code).toBe(0);
    const restarted = up(folder);
    expect(restarted.r.code, restarted.r.stderr).toBe(0);
    expect(restarted.json?.action).toBe('started');
    expect(restarted.json?.containerId).toBe(again.json?.containerId);
    expect(lines().slice(6)).toEqual(['postStart', 'postAttach']);
    expect(down(folder).code).toBe(0);
    // nothing of the project is left in the store but its lock file
    expect(JSON.parse(s.run(['container', 'ls', '-a', '--json']).stdout)).toEqual([]);
    expect(readdirSync(join(s.root, 'projects')).filter((f) => !f.endsWith('.lock'))).toEqual([]);
  });

  it('up --watch --yes recreates the container when devcontainer.json changes, and ends on SIGINT', async () => {
    const folder = makeProject(s.dir, 'watch', mode, devcontainerJson({ image, containerEnv: { V: 'one' } }));
    const child = devenvSpawn(['up', '--watch', '--yes', '--workspace-folder', folder], { mode, root: s.root });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (text: string): Promise<void> => {
      for (let i = 0; i < 300 && !out.includes(text); i += 1) await sleep(100);
      expect(out).toContain(text);
    };
    await waitFor('Watching');
    expect(exec(folder, ['sh', '-c', 'echo $V']).stdout).toBe('one\n');
    writeFileSync(join(folder, '.devcontainer', 'devcontainer.json'), JSON.stringify({ image, containerEnv: { V: 'two' } }));
    await waitFor('recreated');
    expect(out).toContain('devcontainer.json changed');
    expect(exec(folder, ['sh', '-c', 'echo $V']).stdout).toBe('two\n');
    const node = devenvNodePid(child.pid as number);
    expect(node).toBeDefined();
    process.kill(node as number, 'SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
    expect(down(folder).code).toBe(0);
  });

  it('runs the object form of a hook in parallel, each line tagged with its name', () => {
    // Each waits for the other's marker: this only finishes when both run at the same time.
    const wait = (mine: string, other: string): string =>
      `touch /tmp/${mine}; i=0; while [ ! -e /tmp/${other} ]; do i=$((i+1)); [ $i -gt 100 ] && exit 9; sleep 0.05; done; echo done-${mine}`;
    const folder = makeProject(s.dir, 'parallel', mode, devcontainerJson({ image, postCreateCommand: { first: wait('a', 'b'), second: wait('b', 'a') } }));
    const { r } = up(folder, ['--log-level', 'info']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('done-a');
    expect(r.stderr).toContain('done-b');
    expect(down(folder).code).toBe(0);
  });

  it('reports the failing hook with its exit code and runs no later hook', () => {
    const folder = makeProject(s.dir, 'failing', mode, devcontainerJson({ image, postCreateCommand: 'exit 3', postStartCommand: 'touch /workspaces/failing/started' }));
    const r = s.run(['up', '--workspace-folder', folder]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/postCreateCommand.*exit code 3/);
    expect(() => statSync(join(folder, 'started'))).toThrow();
    expect(down(folder).code).toBe(0);
  });

  it('finds a config in a subfolder with --config, and asks for it when there are several', () => {
    const folder = makeProject(s.dir, 'multi', mode, {
      '.devcontainer/one/devcontainer.json': { image, containerEnv: { WHICH: 'one' } },
      '.devcontainer/two/devcontainer.json': { image, containerEnv: { WHICH: 'two' } },
    });
    const ambiguous = s.run(['up', '--workspace-folder', folder]);
    expect(ambiguous.code).not.toBe(0);
    expect(ambiguous.stderr).toContain('one/devcontainer.json');
    expect(ambiguous.stderr).toContain('--config');
    const config = join(folder, '.devcontainer', 'two', 'devcontainer.json');
    const r = s.run(['up', '--workspace-folder', folder, '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    const which = s.run(['exec', '--workspace-folder', folder, '--config', config, 'sh', '-c', 'echo $WHICH']);
    expect(which.stdout).toBe('two\n');
    expect(s.run(['down', '--workspace-folder', folder, '--config', config]).code).toBe(0);
  });

  it('on a terminal: asks which config when there are several, draws progress, and `shell` opens a login shell', () => {
    const folder = makeProject(s.dir, 'chooser', mode, {
      '.devcontainer/one/devcontainer.json': { image, containerEnv: { WHICH: 'one' } },
      '.devcontainer/two/devcontainer.json': { image, containerEnv: { WHICH: 'two' }, postCreateCommand: 'echo post-$((6*7))' },
    });
    const up = devenvInPty(s, ['up', '--workspace-folder', folder], [{ expect: 'Which one' }, { send: '2\r' }, { expect: 'created and started', timeout: 60 }]);
    expect(up.failed, up.output).toBeUndefined();
    expect(up.exit).toBe(0);
    expect(up.output).toContain('two/devcontainer.json');
    expect(up.output).toContain('post-42');
    expect(up.output).toMatch(/✔ Creating container/);
    const config = join(folder, '.devcontainer', 'two', 'devcontainer.json');
    const shell = devenvInPty(s, ['shell', '--workspace-folder', folder, '--config', config], [
      { send: 'echo "$WHICH-$((2*3)) $(pwd)"\r' },
      { expect: 'two-6 /workspaces/chooser' },
      { send: 'exit 4\r' },
    ]);
    expect(shell.failed, shell.output).toBeUndefined();
    expect(shell.exit).toBe(4);
    expect(s.run(['down', '--workspace-folder', folder, '--config', config]).code).toBe(0);
  });

  it('mounts a volume given without source (anonymous) and removes it with down', () => {
    const folder = makeProject(s.dir, 'anon', mode, devcontainerJson({ image, mounts: [{ type: 'volume', target: '/cache' }] }));
    expect(up(folder).r.code).toBe(0);
    const r = exec(folder, ['sh', '-c', 'echo kept > /cache/f && cat /cache/f && grep -c " /cache " /proc/mounts']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('kept\n1\n');
    expect(down(folder).code).toBe(0);
    const volumes = JSON.parse(s.run(['volume', 'ls', '--json']).stdout) as unknown[];
    expect(volumes).toEqual([]);
  });

  it('refuses a host smaller than hostRequirements, naming what is missing, and creates nothing', () => {
    const folder = makeProject(s.dir, 'toosmall', mode, devcontainerJson({ image, hostRequirements: { cpus: 4096, memory: '64tb' } }));
    const r = s.run(['up', '--workspace-folder', folder]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/hostRequirements\.cpus/);
    expect(r.stderr).toMatch(/hostRequirements\.memory/);
    expect(JSON.parse(s.run(['container', 'ls', '-a', '--json']).stdout)).toEqual([]);
  });

  it("names the file, line and column of a syntax error and creates nothing", () => {
    const folder = makeProject(s.dir, 'syntax', mode, { '.devcontainer/devcontainer.json': '{\n  // comment\n  "image": "busybox",\n  "containerEnv": { "A": "b" ]\n}\n' });
    const r = s.run(['up', '--workspace-folder', folder]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/devcontainer\.json:4:\d+/);
    expect(JSON.parse(s.run(['ps', '--json']).stdout)).toEqual([]);
  });

  it('files created in the workspace from inside belong to the host user (root and non-root remoteUser)', () => {
    for (const remoteUser of ['root', 'user']) {
      const folder = makeProject(s.dir, `owner-${remoteUser}`, mode, devcontainerJson({ image, remoteUser }));
      // As root, Docker semantics: a non-root remoteUser needs a workspace it can write (a user's checkout is theirs).
      if (mode === 'root' && remoteUser === 'user') spawnSync('chown', ['-R', '1000:1000', folder]);
      const { r, json } = up(folder);
      expect(r.code, r.stderr).toBe(0);
      expect(json?.remoteUser).toBe(remoteUser);
      const made = exec(folder, ['sh', '-c', 'echo hi > made-inside && id -un && stat -c %U /bin/busybox / /etc/passwd']);
      expect(made.code, made.stderr).toBe(0);
      expect(made.stdout).toBe(`${remoteUser}\nroot\nroot\nroot\n`);
      const owner = statSync(join(folder, 'made-inside')).uid;
      // Rootless: always the invoking user. As root, Docker semantics: the container user's own id.
      expect(owner).toBe(mode === 'rootless' ? hostUid : remoteUser === 'root' ? 0 : 1000);
      expect(down(folder).code).toBe(0);
    }
  });

  it('two up at once give one container; a config change is reported and --rebuild recreates', async () => {
    const folder = makeProject(s.dir, 'race', mode, devcontainerJson({ image, postCreateCommand: 'sleep 1' }));
    const [a, b] = await Promise.all([
      s.runAsync(['up', '--json', '--workspace-folder', folder]),
      s.runAsync(['up', '--json', '--workspace-folder', folder]),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const idA = (JSON.parse(a.stdout) as UpJson).containerId;
    expect((JSON.parse(b.stdout) as UpJson).containerId).toBe(idA);
    expect((JSON.parse(s.run(['ps', '--json']).stdout) as unknown[]).length).toBe(1);
    writeFileSync(join(folder, '.devcontainer', 'devcontainer.json'), JSON.stringify({ image, containerEnv: { NEW: '1' } }));
    const changed = up(folder);
    expect(changed.json?.configChanged).toBe(true);
    expect(changed.r.stderr).toContain('--rebuild');
    const rebuilt = up(folder, ['--rebuild']);
    expect(rebuilt.r.code, rebuilt.r.stderr).toBe(0);
    expect(rebuilt.json?.containerId).not.toBe(idA);
    expect(exec(folder, ['sh', '-c', 'echo $NEW']).stdout).toBe('1\n');
    expect(down(folder).code).toBe(0);
  });

  it('kill -9 during up, then up again: a working environment whose onCreateCommand completed', async () => {
    const folder = makeProject(s.dir, 'killed', mode, devcontainerJson({ image, onCreateCommand: 'sleep 2; echo created >> /workspaces/killed/oncreate.log' }));
    const child = devenvSpawn(['up', '--workspace-folder', folder], { mode, root: s.root });
    let node: number | undefined;
    for (let i = 0; i < 100 && node === undefined; i += 1) {
      await sleep(50);
      node = devenvNodePid(child.pid as number);
    }
    expect(node).toBeDefined();
    // wait until onCreateCommand runs (its sleep is in the container), then kill devenv itself
    await sleep(1500);
    process.kill(node as number, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const again = up(folder);
    expect(again.r.code, again.r.stderr).toBe(0);
    expect(readFileSync(join(folder, 'oncreate.log'), 'utf8')).toContain('created');
    expect(exec(folder, ['true']).code).toBe(0);
    expect(down(folder).code).toBe(0);
    expect(JSON.parse(s.run(['ps', '--json']).stdout)).toEqual([]);
  });
});
