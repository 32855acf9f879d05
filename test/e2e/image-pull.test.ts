import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';

import { devenvSpawn } from '../support/devenv-cli.js';
import { useSuite } from '../support/suite.js';

const registry = inject('devenvE2eRegistry');

describe.each(['root', 'rootless'] as const)('images from a registry (%s)', (mode) => {
  const s = useSuite(mode, 'img');

  it('container run IMAGE pulls when missing and runs the image', () => {
    const r = s.run(['container', 'run', '--rm', `${registry}/busybox:latest`, 'sh', '-c', 'echo hi from $(hostname) as $(id -u); ls /bin/busybox']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^hi from \w+ as 0\n\/bin\/busybox\n$/);
    const ls = JSON.parse(s.run(['image', 'ls', '--json']).stdout) as { reference?: string; repository?: string }[];
    expect(JSON.stringify(ls)).toContain(`${registry}/busybox`);
  });

  it('runs Debian (debootstrap image): setuid files keep their mode, root owns /usr', async () => {
    const pull = await s.runAsync(['image', 'pull', `${registry}/debian:bookworm`]);
    expect(pull.code, pull.stderr).toBe(0);
    const r = await s.runAsync(['container', 'run', '--rm', `${registry}/debian:bookworm`, 'sh', '-c', 'cat /etc/debian_version; stat -c "%a %U" /usr/bin/passwd /usr']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^12\./);
    expect(lines[1]).toBe('4755 root');
    expect(lines[2]).toBe('755 root');
  });

  it('starts an image with more layers than one mount option page can name', async () => {
    const r = await s.runAsync(['container', 'run', '--rm', `${registry}/layered:130`, 'sh', '-c', 'ls /layers | wc -l']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('130');
  });

  it('two pulls of one image at once do the work once and both succeed', async () => {
    const a = devenvSpawn(['image', 'pull', '-q', `${registry}/layered:130`], { mode, root: s.root });
    const b = devenvSpawn(['image', 'pull', '-q', `${registry}/layered:130`], { mode, root: s.root });
    const codes = await Promise.all([a, b].map((p) => new Promise<number | null>((res) => p.once('exit', res))));
    expect(codes).toEqual([0, 0]);
    const layers = readdirSync(join(s.root, 'images', 'layers')).filter((n) => !n.startsWith('.'));
    expect(layers.every((n) => /^[0-9a-f]{64}$/.test(n)), layers.join(',')).toBe(true);
  });

  it('a pull killed with -9 at any moment leaves a store the next pull repairs', async () => {
    for (const delay of [150, 400, 800]) {
      await s.runAsync(['image', 'rm', '-f', `${registry}/debian:bookworm`]);
      await s.runAsync(['image', 'prune', '-a']);
      const child = devenvSpawn(['image', 'pull', '-q', `${registry}/debian:bookworm`], { mode, root: s.root });
      await sleep(delay);
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
      const again = await s.runAsync(['image', 'pull', '-q', `${registry}/debian:bookworm`]);
      expect(again.code, again.stderr).toBe(0);
      const run = await s.runAsync(['container', 'run', '--rm', `${registry}/debian:bookworm`, 'cat', '/etc/debian_version']);
      expect(run.stdout).toMatch(/^12\./);
      expect(readdirSync(join(s.root, 'images', 'layers')).filter((n) => n.includes('.tmp-'))).toEqual([]);
    }
  });

  it('refuses to remove an image a container uses, and prune keeps it', () => {
    const id = s.run(['container', 'create', `${registry}/busybox:latest`, 'true']).stdout.trim();
    const rm = s.run(['image', 'rm', `${registry}/busybox:latest`]);
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toMatch(/container/);
    s.run(['image', 'prune', '-a']);
    expect(s.run(['container', 'start', '-a', id]).code).toBe(0);
    expect(s.run(['container', 'rm', id]).code).toBe(0);
  });

  it('names the problem for a missing image and a refused registry', () => {
    const missing = s.run(['image', 'pull', `${registry}/no-such-image:1`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no-such-image');
    const refused = s.run(['image', 'pull', '127.0.0.1:1/x:1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('127.0.0.1:1');
  });
});
