import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { testUser, uidOf } from '../support/devenv-cli.js';
import { useSuite } from '../support/suite.js';

describe.each(['root', 'rootless'] as const)('container lifecycle (%s)', (mode) => {
  const s = useSuite(mode, 'life');

  it('passes exit codes through', () => {
    expect(s.runIn(['--rm'], ['true']).code).toBe(0);
    const r = s.runIn(['--rm'], ['sh', '-c', 'exit 7']);
    expect(r.code).toBe(7);
  });

  it('gives 127 for a missing command and 126 for a non-executable one', () => {
    const missing = s.runIn(['--rm'], ['no-such-command']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/no-such-command/);
    const denied = s.runIn(['--rm'], ['/bin/not-executable']);
    expect(denied.code).toBe(126);
  });

  it('shows only its own processes and its own hostname', () => {
    const r = s.runIn(['--rm', '--hostname', 'box1'], ['sh', '-c', 'hostname; ls /proc | grep -c "^[0-9]"']);
    expect(r.code).toBe(0);
    const [host, count] = r.stdout.trim().split('\n');
    expect(host).toBe('box1');
    // init, sh, ls, grep at most
    expect(Number(count)).toBeLessThanOrEqual(4);
    const ps = s.runIn(['--rm'], ['sh', '-c', 'echo $$']);
    expect(ps.stdout.trim()).toBe('2'); // PID 1 is devenv's init, the command is its child
  });

  it('keeps writes outside bind mounts away from the host, and lets bind mounts through', () => {
    const shared = join(s.dir, `shared-${mode}`);
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const r = s.runIn(['--rm', '-v', `${shared}:/shared`], ['sh', '-c', 'echo inside > /etc/written && echo bound > /shared/file && cat /etc/written']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('inside');
    expect(existsSync(join(s.rootfs, 'etc', 'written'))).toBe(false);
    expect(readFileSync(join(shared, 'file'), 'utf8').trim()).toBe('bound');
  });

  it('--userns keep-id runs as the invoking user, and files in bind mounts keep their owner', () => {
    const uid = s.mode === 'root' ? 0 : uidOf(testUser());
    const shared = join(s.dir, `keep-${mode}`);
    mkdirSync(shared);
    chownSync(shared, uid, uid);
    const r = s.runIn(['--rm', '--userns', 'keep-id', '-v', `${shared}:/w`], ['sh', '-c', 'id -u; touch /w/made-inside']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(String(uid));
    expect(statSync(join(shared, 'made-inside')).uid).toBe(uid);
  });

  it('passes env, env files, workdir and user', () => {
    const envFile = join(s.dir, `env-${mode}`);
    writeFileSync(envFile, '# comment\nFROM_FILE=yes\n');
    chmodSync(envFile, 0o644);
    const tricky = `a b 'q' "d" $HOME \\ end`;
    const r = s.runIn(['--rm', '-e', `TRICKY=${tricky}`, '--env-file', envFile, '-w', '/tmp', '-u', 'user'], [
      'sh',
      '-c',
      'printf "%s|%s|%s|%s\\n" "$TRICKY" "$FROM_FILE" "$(pwd)" "$(id -u):$(id -g)"',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${tricky}|yes|/tmp|1000:1000`);
  });

  it('runs detached, lists, execs, logs, stops and removes', () => {
    const started = s.runIn(['-d', '--name', `web-${mode}`], ['sh', '-c', 'echo started; echo oops >&2; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done']);
    expect(started.code, started.stderr).toBe(0);
    const id = started.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    const ls = JSON.parse(s.run(['container', 'ls', '--json']).stdout) as { id: string; status: string }[];
    expect(ls.find((c) => c.id === id)?.status).toBe('running');

    const exec = s.run(['container', 'exec', '-e', 'X=1', '-w', '/tmp', `web-${mode}`, 'sh', '-c', 'echo $X $(pwd) $$; exit 3']);
    expect(exec.code).toBe(3);
    expect(exec.stdout.trim()).toMatch(/^1 \/tmp \d+$/);

    const execUser = s.run(['container', 'exec', '-u', '1000:1000', `web-${mode}`, 'id', '-u']);
    expect(execUser.stdout.trim()).toBe('1000');

    const stop = s.run(['container', 'stop', '-t', '5', `web-${mode}`]);
    expect(stop.code, stop.stderr).toBe(0);
    const inspect = JSON.parse(s.run(['container', 'inspect', `web-${mode}`]).stdout) as { status: string; exitCode: number }[];
    expect(inspect[0]?.status).toBe('exited');
    expect(inspect[0]?.exitCode).toBe(0);

    const logs = s.run(['container', 'logs', `web-${mode}`]);
    expect(logs.stdout).toBe('started\nbye\n');
    expect(logs.stderr).toBe('oops\n');

    expect(s.run(['container', 'rm', `web-${mode}`]).code).toBe(0);
    expect(s.run(['container', 'inspect', `web-${mode}`]).code).toBe(1);
  });

  it('restarts a stopped container with start', () => {
    const created = s.run(['container', 'create', '--name', `again-${mode}`, '--rootfs', s.rootfs, 'sh', '-c', 'echo run']);
    expect(created.code, created.stderr).toBe(0);
    expect(s.run(['container', 'start', '-a', `again-${mode}`]).stdout).toBe('run\n');
    expect(s.run(['container', 'start', '-a', `again-${mode}`]).stdout).toBe('run\n');
    expect(s.run(['container', 'logs', `again-${mode}`]).stdout).toBe('run\nrun\n');
    expect(s.run(['container', 'rm', `again-${mode}`]).code).toBe(0);
  });

  it('follows logs until the container stops', () => {
    const id = s.runIn(['-d'], ['sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.2; done']).stdout.trim();
    const logs = s.run(['container', 'logs', '-f', id], { timeoutMs: 20_000 });
    expect(logs.stdout).toBe('line1\nline2\nline3\n');
    expect(s.run(['container', 'rm', id]).code).toBe(0);
  });

  it('refuses to remove a running container without -f, and removes it with -f', () => {
    const id = s.runIn(['-d'], ['sleep', '300']).stdout.trim();
    const refused = s.run(['container', 'rm', id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is running/);
    // flag values are not container references: `--root DIR` and `-t 1` between the references
    const stopped = s.run(['container', 'stop', '-t', '1', '--root', s.root, id]);
    expect(stopped.code, stopped.stderr).toBe(0);
    const removed = s.run(['container', 'rm', '-f', '--root', s.root, id]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe(`${id}\n`);
  });

  it('supports --read-only and keeps stdin with -i', () => {
    const ro = s.runIn(['--rm', '--read-only'], ['sh', '-c', 'touch /x']);
    expect(ro.code).not.toBe(0);
    const input = s.runIn(['--rm', '-i'], ['cat'], { input: 'from stdin\n' });
    expect(input.stdout).toBe('from stdin\n');
  });

  it('prints JSON errors under --json', () => {
    const r = s.run(['container', 'inspect', '--json', 'does-not-exist']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'error', code: 'CONTAINER_NOT_FOUND' });
  });
});
