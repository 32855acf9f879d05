import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';

import { devenvSpawn } from '../support/devenv-cli.js';
import { useSuite, type Suite } from '../support/suite.js';

function statusOf(s: Suite, ref: string): string {
  return (JSON.parse(s.run(['container', 'inspect', ref]).stdout) as { status: string }[])[0]?.status ?? 'missing';
}

describe.each(['root', 'rootless'] as const)('state survives kill -9 (%s)', (mode) => {
  const s = useSuite(mode, 'crash');

  it('shows the truth after the container process is killed, and rm -f cleans up', () => {
    const id = s.runIn(['-d'], ['sleep', '300']).stdout.trim();
    const state = JSON.parse(readFileSync(join(s.root, 'containers', id, 'state.json'), 'utf8')) as { pid: number };
    process.kill(state.pid, 'SIGKILL');
    for (let i = 0; i < 50 && statusOf(s, id) === 'running'; i += 1) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    expect(statusOf(s, id)).toBe('exited');
    expect(s.run(['container', 'rm', '-f', id]).code).toBe(0);
  });

  it('shows the truth after the monitor is killed, and rm -f still removes everything', () => {
    // The container's init has PR_SET_PDEATHSIG: without its monitor nobody would record its exit or log, so it ends.
    const id = s.runIn(['-d'], ['sleep', '300']).stdout.trim();
    const state = JSON.parse(readFileSync(join(s.root, 'containers', id, 'state.json'), 'utf8')) as { pid: number; monitorPid: number };
    process.kill(state.monitorPid, 'SIGKILL');
    for (let i = 0; i < 50 && statusOf(s, id) === 'running'; i += 1) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    expect(statusOf(s, id)).toBe('unknown');
    const ls = JSON.parse(s.run(['container', 'ls', '-a', '--json']).stdout) as { id: string; statusText: string }[];
    expect(ls.find((c) => c.id === id)?.statusText).toBe('Exited (unknown)');
    expect(s.run(['container', 'rm', '-f', id]).code).toBe(0);
    expect(s.leaks()).toEqual({ mounts: [], processes: [], cgroups: [], helpers: [], ports: [] });
  });

  it('kill -9 of devenv at any moment of run leaves a store that ls and rm -f handle', async () => {
    for (const delay of [5, 30, 60, 90, 120, 200, 400]) {
      const child = devenvSpawn(['container', 'run', '--name', `k${delay}`, '--rootfs', s.rootfs, 'sleep', '300'], { mode, root: s.root });
      await sleep(delay);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const ls = s.run(['container', 'ls', '-a', '--json']);
      expect(ls.code, ls.stderr).toBe(0);
      for (const c of JSON.parse(ls.stdout) as { id: string }[]) {
        const rm = s.run(['container', 'rm', '-f', c.id]);
        expect(rm.code, rm.stderr).toBe(0);
      }
      expect(s.leaks()).toEqual({ mounts: [], processes: [], cgroups: [], helpers: [], ports: [] });
    }
  });

  it('serialises two commands on one container with its lock', async () => {
    const id = s.runIn(['-d'], ['sh', '-c', 'trap "sleep 1; exit 0" TERM; while true; do sleep 0.1; done']).stdout.trim();
    const a = devenvSpawn(['container', 'stop', id], { mode, root: s.root });
    await sleep(150);
    const b = s.run(['container', 'rm', id]);
    await new Promise((r) => a.once('exit', r));
    // rm waited for stop to finish, then removed the stopped container
    expect(b.code, b.stderr).toBe(0);
  });
});
