import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { REPO_ROOT, testUser, uidOf, type Mode } from '../support/devenv-cli.js';
import { devcontainerJson, makeProject } from '../support/project-fixture.js';
import { useSuite } from '../support/suite.js';

const registry = inject('devenvE2eRegistry');
const image = `${registry}/busybox:latest`;

interface SshConfigJson {
  hosts: { alias: string; user: string; workspaceFolder: string }[];
  configFile: string;
  userConfig: string;
  includeAdded: boolean;
}

/** argv that runs `command` as the mode's user with HOME pointing at the test's home. */
function asUser(mode: Mode, home: string, command: string[]): { file: string; args: string[] } {
  const env = ['env', `HOME=${home}`, `XDG_CONFIG_HOME=${join(home, '.config')}`];
  if (mode === 'root') return { file: env[0] as string, args: [...env.slice(1), ...command] };
  return { file: 'runuser', args: ['-u', testUser(), '--', ...env, ...command] };
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/index.html', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe.each(['root', 'rootless'] as const)('devenv ssh (%s)', (mode) => {
  const s = useSuite(mode, 'ssh');
  const uid = mode === 'root' ? 0 : uidOf(testUser());
  let folder = '';
  let home = '';
  let config = '';
  let host = '';
  const base = mode === 'root' ? 23100 : 23200;

  const ssh = (args: string[], input = '', timeoutMs = 60_000) => {
    const { file, args: argv } = asUser(mode, home, ['ssh', '-F', config, '-o', 'BatchMode=yes', ...args]);
    const r = spawnSync(file, argv, { input, encoding: 'utf8', timeout: timeoutMs });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const exec = (command: string[]) => s.run(['exec', '--workspace-folder', folder, ...command]);

  afterAll(() => {
    if (folder) s.run(['down', '--workspace-folder', folder]);
  });

  beforeAll(() => {
    home = join(s.dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'config'), 'Host other\n  User someone\n');
    writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = Devenv Tester\n');
    spawnSync('chown', ['-R', `${uid}:${uid}`, home]);
    folder = makeProject(s.dir, 'sshproj', mode, {
      ...devcontainerJson({ image }),
      'www/index.html': 'hello from the container\n',
    });
    const r = s.run(['ssh-config', '--json'], { env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config') } });
    expect(r.code, r.stderr).toBe(0);
    // No environment yet: an empty config, and the Include added at the top of the user's file.
    expect(readFileSync(join(home, '.ssh', 'config'), 'utf8')).toMatch(/^# Added by `devenv ssh-config`.*\nInclude .*\n\nHost other\n {2}User someone\n$/);
    // the test's HOME, so the git config copied at creation is the test's, not the real user's
    const up = s.run(['up', '--workspace-folder', folder], { timeoutMs: 180_000, env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config') } });
    expect(up.code, up.stderr).toBe(0);
    const again = s.run(['ssh-config', '--json'], { env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config') } });
    expect(again.code, again.stderr).toBe(0);
    const json = JSON.parse(again.stdout) as SshConfigJson;
    expect(json.hosts).toHaveLength(1);
    host = json.hosts[0]?.alias as string;
    expect(host).toMatch(/^sshproj-[0-9a-z]{8}\.devenv$/);
    config = json.configFile;
  });

  it('runs a command with its exit code, as remoteUser in the workspace folder, with the host key checked', () => {
    const r = ssh([host, 'echo "$(id -u) $(pwd)"; echo err >&2; exit 7']);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout).toBe('0 /workspaces/sshproj\n');
    expect(r.stderr).toContain('err');
    expect(readFileSync(config, 'utf8')).toContain('StrictHostKeyChecking yes');
    // ~/.gitconfig was copied into remoteUser's home at connect
    expect(exec(['cat', '/root/.gitconfig']).stdout).toContain('Devenv Tester');
  });

  it('runs a script from stdin (`ssh host sh`, as Remote-SSH does)', () => {
    const r = ssh([host, 'sh'], 'x=$((6*7))\necho "answer $x"\nexit 3\n');
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe('answer 42\n');
  });

  it('gives a PTY session that follows window changes', () => {
    const { file, args } = asUser(mode, home, ['ssh', '-F', config, '-tt', host]);
    const steps = [
      { expect: '[#$] ', timeout: 30 },
      { send: 'stty size; tty\r' },
      { expect: '24 80', timeout: 10 },
      { resize: [33, 101] },
      { send: 'stty size\r' },
      { expect: '33 101', timeout: 10 },
      { send: 'exit 5\r' },
    ];
    const r = spawnSync('python3', [join(REPO_ROOT, 'test', 'support', 'pty-session.py'), '24', '80', '--', file, ...args], {
      input: steps.map((x) => JSON.stringify(x)).join('\n'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    const result = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { output: string; exit: number; failed?: string };
    expect(result.failed, result.output).toBeUndefined();
    expect(result.output).toMatch(/\/dev\/pts\/\d+/);
    expect(result.exit).toBe(5);
  });

  it('forwards a local port to a server listening inside the container (-L)', async () => {
    const port = base + 1;
    const started = exec(['busybox', 'httpd', '-p', `127.0.0.1:${port}`, '-h', '/workspaces/sshproj/www']);
    expect(started.code, started.stderr).toBe(0);
    const local = base + 2;
    const { file, args } = asUser(mode, home, ['ssh', '-F', config, '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${local}:127.0.0.1:${port}`, host]);
    const client = spawn(file, args, { stdio: 'ignore' });
    try {
      let body = '';
      for (let i = 0; i < 100 && !body; i++) {
        body = await httpGet(local).catch(() => '');
        if (!body) await sleep(100);
      }
      expect(body).toBe('hello from the container\n');
    } finally {
      client.kill('SIGTERM');
      exec(['pkill', '-f', `httpd -p 127.0.0.1:${port}`]);
    }
  });

  it('forwards a local port to a unix socket in the container (-L port:/path)', async () => {
    // The listener is the test's own, on a socket in the workspace: the client reaches it by its path inside.
    const sock = join(folder, 'app.sock');
    rmSync(sock, { force: true });
    const server: Server = createServer((c) => c.end('unix hello\n'));
    await new Promise<void>((r) => server.listen(sock, r));
    chmodSync(sock, 0o777);
    const local = base + 3;
    const { file, args } = asUser(mode, home, ['ssh', '-F', config, '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${local}:/workspaces/sshproj/app.sock`, host]);
    const client = spawn(file, args, { stdio: 'ignore' });
    try {
      let got = '';
      for (let i = 0; i < 100 && !got; i++) {
        got = await new Promise<string>((resolve) => {
          const socket = connect(local, '127.0.0.1');
          let text = '';
          socket.on('data', (d: Buffer) => (text += d.toString()));
          socket.on('close', () => resolve(text));
          socket.on('error', () => resolve(''));
        });
        if (!got) await sleep(100);
      }
      expect(got).toBe('unix hello\n');
    } finally {
      client.kill('SIGTERM');
      server.close();
    }
  });

  it('copies files both ways with scp (sftp subsystem)', () => {
    const local = join(s.dir, `scp-${mode}`);
    mkdirSync(local, { recursive: true });
    writeFileSync(join(local, 'up.txt'), 'uploaded\n');
    spawnSync('chown', ['-R', `${uid}:${uid}`, local]);
    const scp = (args: string[]) => {
      const { file, args: argv } = asUser(mode, home, ['scp', '-F', config, '-o', 'BatchMode=yes', ...args]);
      const r = spawnSync(file, argv, { encoding: 'utf8', timeout: 60_000 });
      return { code: r.status ?? -1, stderr: r.stderr ?? '' };
    };
    const upload = scp([join(local, 'up.txt'), `${host}:/tmp/up.txt`]);
    expect(upload.code, upload.stderr).toBe(0);
    expect(exec(['cat', '/tmp/up.txt']).stdout).toBe('uploaded\n');
    const relative = scp([join(local, 'up.txt'), `${host}:rel.txt`]);
    expect(relative.code, relative.stderr).toBe(0);
    expect(exec(['cat', '/workspaces/sshproj/rel.txt']).stdout).toBe('uploaded\n');
    const download = scp([`${host}:/etc/passwd`, join(local, 'passwd')]);
    expect(download.code, download.stderr).toBe(0);
    expect(readFileSync(join(local, 'passwd'), 'utf8')).toContain('root:x:0:0');
  });

  it('hangs up the processes a session started when the client disconnects', async () => {
    const { file, args } = asUser(mode, home, ['ssh', '-F', config, host, 'echo started; sleep 4321; echo never']);
    const client = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    client.stdout.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 300 && !out.includes('started'); i++) await sleep(100);
    expect(out).toContain('started');
    expect(exec(['sh', '-c', 'ps -o args | grep -c "^sleep 4321"']).stdout.trim()).toBe('1');
    // what a dropped connection looks like to the ProxyCommand: ssh and its pipes go away at once
    for (const pid of descendantsOf(client.pid as number)) process.kill(pid, 'SIGKILL');
    client.kill('SIGKILL');
    let left = '1';
    for (let i = 0; i < 100 && left !== '0'; i++) {
      await sleep(100);
      left = exec(['sh', '-c', 'ps -o args | grep -c "^sleep 4321"']).stdout.trim();
    }
    expect(left).toBe('0');
  });

  it('`devenv ssh -- CMD` runs a command for people; ssh-config --remove restores ~/.ssh/config exactly', () => {
    const r = s.run(['ssh', '--workspace-folder', folder, '--', 'sh', '-c', 'echo "$((2+3)) $(pwd)"']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('5 /workspaces/sshproj\n');
    const removed = s.run(['ssh-config', '--remove'], { env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config') } });
    expect(removed.code, removed.stderr).toBe(0);
    expect(readFileSync(join(home, '.ssh', 'config'), 'utf8')).toBe('Host other\n  User someone\n');
    expect(existsSync(config)).toBe(false);
    expect(s.run(['down', '--workspace-folder', folder]).code).toBe(0);
  });
});

function descendantsOf(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [...descendantsOf(c), c]);
}
