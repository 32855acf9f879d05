import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { REPO_ROOT, devenvSpawn, testUser, uidOf, type Mode } from '../support/devenv-cli.js';
import { devcontainerJson, makeProject } from '../support/project-fixture.js';
import { useSuite } from '../support/suite.js';

const registry = inject('devenvE2eRegistry');
const image = `${registry}/busybox:latest`;

/** argv that runs `command` as the mode's user, with HOME at the test's home and SSH_AUTH_SOCK only when given. */
function asUser(mode: Mode, home: string, command: string[], agent?: string): { file: string; args: string[] } {
  const env = ['env', '-u', 'SSH_AUTH_SOCK', `HOME=${home}`, `XDG_CONFIG_HOME=${join(home, '.config')}`, ...(agent ? [`SSH_AUTH_SOCK=${agent}`] : [])];
  if (mode === 'root') return { file: env[0] as string, args: [...env.slice(1), ...command] };
  return { file: 'runuser', args: ['-u', testUser(), '--', ...env, ...command] };
}

/** Build test/fixtures/agent-probe into `dir` (a static binary: the images have no ssh-add). */
function buildAgentProbe(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('sh', [join(REPO_ROOT, 'test', 'fixtures', 'agent-probe', 'build.sh'), join(dir, 'agent-probe')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the agent probe failed: ${r.stderr}`);
}

function descendantsOf(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendantsOf(c)]);
}

describe.each(['root', 'rootless'] as const)('ssh agent and git config in dev containers (%s)', (mode) => {
  const s = useSuite(mode, 'ssh-agent');
  const uid = mode === 'root' ? 0 : uidOf(testUser());
  let home = '';
  let folder = '';
  let agentSock = '';
  let agentPid = 0;

  /** As the mode's user (the agent refuses other uids, root excepted). */
  const runAs = (command: string[], env: Record<string, string> = {}) => {
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const argv = mode === 'root' ? ['env', ...envArgs, ...command] : ['runuser', '-u', testUser(), '--', 'env', ...envArgs, ...command];
    return spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
  };
  const exec = (command: string[], env: Record<string, string>) => s.run(['exec', '--workspace-folder', folder, ...command], { env });
  /** The host directory the container mounts at /run/devenv-agent. */
  const agentDirs = () => readdirSync(join(s.root, 'projects')).filter((n) => n.endsWith('.agent')).map((n) => join(s.root, 'projects', n));
  const socketsLeft = () => agentDirs().flatMap((d) => readdirSync(d));

  beforeAll(() => {
    home = join(s.dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    const agentDir = join(s.dir, 'agent');
    mkdirSync(agentDir);
    buildAgentProbe(join(s.dir, 'probe'));
    spawnSync('chown', ['-R', `${uid}:${uid}`, home, agentDir]);
    // The test's own agent, holding one fresh key.
    agentSock = join(agentDir, 'agent.sock');
    const started = runAs(['ssh-agent', '-s', '-a', agentSock]);
    expect(started.status, started.stderr).toBe(0);
    agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(started.stdout)?.[1]);
    expect(agentPid).toBeGreaterThan(0);
    const key = join(agentDir, 'id_ed25519');
    expect(runAs(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key]).status).toBe(0);
    const added = runAs(['ssh-add', '-q', key], { SSH_AUTH_SOCK: agentSock });
    expect(added.status, added.stderr).toBe(0);

    folder = makeProject(s.dir, 'agentproj', mode, devcontainerJson({ image, remoteUser: 'user', mounts: [`type=bind,source=${join(s.dir, 'probe')},target=/opt/probe`] }));
    const up = s.run(['up', '--workspace-folder', folder], { timeoutMs: 180_000, env: { SSH_AUTH_SOCK: '' } });
    expect(up.code, up.stderr).toBe(0);
  });

  afterAll(() => {
    if (folder) s.run(['down', '--workspace-folder', folder]);
    if (agentPid > 0) process.kill(agentPid, 'SIGTERM');
  });

  it('`devenv exec` with SSH_AUTH_SOCK reaches the agent from inside, and removes its relay socket at the end', () => {
    const r = exec(['sh', '-c', 'echo "$SSH_AUTH_SOCK"; id -u; /opt/probe/agent-probe'], { SSH_AUTH_SOCK: agentSock });
    expect(r.code, r.stderr).toBe(0);
    const [sock, id, keys] = r.stdout.trim().split('\n');
    expect(sock).toMatch(/^\/run\/devenv-agent\/\d+\.[0-9a-f]+\.sock$/);
    expect(id).toBe('1000');
    expect(keys).toBe('1');
    expect(r.stderr).toBe('');
    // (d) gone once the client exited
    expect(socketsLeft()).toEqual([]);
  });

  it('keeps the relay socket for the session only: private on the host, owned by the user it is for', () => {
    const r = exec(['sh', '-c', 'ls -ln "$SSH_AUTH_SOCK"'], { SSH_AUTH_SOCK: agentSock });
    expect(r.code, r.stderr).toBe(0);
    // srw------- 1 1000 1000 … : only remoteUser (uid 1000 inside) may connect
    expect(r.stdout).toMatch(/^srw------- +\d+ +1000 +1000 /);
    const [dir] = agentDirs();
    const mode_ = (spawnSync('stat', ['-c', '%a %u', dir as string], { encoding: 'utf8' }).stdout ?? '').trim();
    expect(mode_).toBe(mode === 'root' ? '711 0' : `700 ${uid}`);
    expect((spawnSync('stat', ['-c', '%a', join(s.root, 'projects')], { encoding: 'utf8' }).stdout ?? '').trim()).toBe('700');
  });

  it('without an agent: nothing is relayed and SSH_AUTH_SOCK is unset inside', () => {
    const r = exec(['sh', '-c', 'ls -A /run/devenv-agent | wc -l; /opt/probe/agent-probe'], { SSH_AUTH_SOCK: '' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('0\nunset\n');
    expect(socketsLeft()).toEqual([]);
  });

  it('`ssh -A` through the ProxyCommand forwards the client\'s agent while devenv itself has none', async () => {
    const cfg = s.run(['ssh-config', '--json'], { env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config') } });
    expect(cfg.code, cfg.stderr).toBe(0);
    const { hosts, configFile } = JSON.parse(cfg.stdout) as { hosts: { alias: string }[]; configFile: string };
    const host = hosts[0]?.alias as string;
    // devenv's own ProxyCommand, run without SSH_AUTH_SOCK: the agent can only come through the SSH channel.
    const proxy = /^ {2}ProxyCommand (.*)$/m.exec(readFileSync(configFile, 'utf8'))?.[1] as string;
    expect(proxy).toContain('ssh --stdio');
    const ssh = (extra: string[], agent?: string) => {
      const argv = ['ssh', '-F', configFile, '-o', 'BatchMode=yes', '-o', `ProxyCommand=env -u SSH_AUTH_SOCK ${proxy}`, ...extra, host, 'echo "${SSH_AUTH_SOCK:-none}"; /opt/probe/agent-probe'];
      const { file, args } = asUser(mode, home, argv, agent);
      const r = spawnSync(file, args, { encoding: 'utf8', timeout: 60_000 });
      return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    };
    const forwarded = ssh(['-A'], agentSock);
    expect(forwarded.code, forwarded.stderr).toBe(0);
    expect(forwarded.stdout).toMatch(/^\/run\/devenv-agent\/\d+\.[0-9a-f]+\.sock\n1\n$/);
    // No -A and no agent on the devenv side: nothing forwarded.
    const plain = ssh(['-a']);
    expect(plain.code).toBe(2);
    expect(plain.stdout).toBe('none\nunset\n');
    // ssh ends its ProxyCommand with SIGHUP as it exits: the relay socket goes with it, a moment later
    for (let i = 0; i < 50 && socketsLeft().length > 0; i++) await sleep(100);
    expect(socketsLeft()).toEqual([]);
    s.run(['ssh-config', '--remove'], { env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config') } });
  });

  it('a relay socket left by a killed client is removed by the next one', async () => {
    const child = devenvSpawn(['exec', '--workspace-folder', folder, 'sh', '-c', 'echo ready; sleep 600'], { mode, root: s.root, env: { SSH_AUTH_SOCK: agentSock } });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 300 && !out.includes('ready'); i++) await sleep(100);
    expect(out).toContain('ready');
    expect(socketsLeft()).toHaveLength(1);
    // devenv's own node (below runuser when rootless)
    const node = [child.pid as number, ...descendantsOf(child.pid as number)].find((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv[0] === process.execPath && (argv[1] ?? '').endsWith('bin/devenv');
      } catch {
        return false;
      }
    });
    expect(node).toBeDefined();
    const below = descendantsOf(node as number);
    process.kill(node as number, 'SIGKILL');
    // 'exit', not 'close': the runtime the client started still holds its stdout
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    expect(socketsLeft()).toHaveLength(1);
    const r = exec(['/opt/probe/agent-probe'], { SSH_AUTH_SOCK: agentSock });
    expect(r.stdout).toBe('1\n');
    expect(socketsLeft()).toEqual([]);
    // the runtime the killed client had started (its command goes with the container at `down`)
    for (const pid of below) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('copies the host git config into remoteUser\'s home at creation, never over an existing one', () => {
    const gitHome = join(s.dir, 'githome');
    mkdirSync(join(gitHome, '.config', 'git'), { recursive: true });
    writeFileSync(join(gitHome, '.gitconfig'), '[user]\n\tname = Host Tester\n');
    writeFileSync(join(gitHome, '.config', 'git', 'config'), '[core]\n\teditor = vi\n');
    spawnSync('chown', ['-R', `${uid}:${uid}`, gitHome]);
    const env = { HOME: gitHome, XDG_CONFIG_HOME: join(gitHome, '.config'), SSH_AUTH_SOCK: '' };
    const fresh = makeProject(s.dir, 'gitfresh', mode, devcontainerJson({ image }));
    // a postCreateCommand writes its own ~/.gitconfig: the copy comes after the hooks and keeps it
    const own = makeProject(s.dir, 'gitown', mode, devcontainerJson({ image, postCreateCommand: "printf '[user]\\n\\tname = Image Tester\\n' > /root/.gitconfig" }));
    const off = makeProject(s.dir, 'gitoff', mode, devcontainerJson({ image }));
    try {
      for (const f of [fresh, own]) {
        const up = s.run(['up', '--workspace-folder', f], { timeoutMs: 180_000, env });
        expect(up.code, up.stderr).toBe(0);
      }
      const upOff = s.run(['up', '--workspace-folder', off], { timeoutMs: 180_000, env: { ...env, DEVENV_COPY_GITCONFIG: '0' } });
      expect(upOff.code, upOff.stderr).toBe(0);
      const cat = (f: string) => s.run(['exec', '--workspace-folder', f, 'sh', '-c', 'cat /root/.gitconfig; cat /root/.config/git/config; true'], { env });
      expect(cat(fresh).stdout).toBe('[user]\n\tname = Host Tester\n[core]\n\teditor = vi\n');
      expect(cat(own).stdout).toBe('[user]\n\tname = Image Tester\n[core]\n\teditor = vi\n');
      expect(cat(off).stdout).toBe('');
      expect(existsSync(join(gitHome, '.gitconfig'))).toBe(true);
    } finally {
      for (const f of [fresh, own, off]) s.run(['down', '--workspace-folder', f]);
    }
  });
});
