import { describe, expect, it } from 'vitest';

import { devenvAsync } from '../support/devenv-cli.js';
import { useSuite } from '../support/suite.js';

interface BootstrapJson {
  reference: string;
  alreadyPresent: boolean;
  manifestDigest: string;
  suite: string;
  variant?: string;
  rootless?: boolean;
  packageCache?: { path: string; reused: boolean };
  layer?: { digest: string; diffId: string; size: number };
}

// debootstrap downloads ~45 MB from deb.debian.org the first time on a machine (per user: root's cache is
// /var/cache/devenv, the test user's ~/.cache/devenv); later runs reuse the package tarball and only install.
const BOOTSTRAP_TIMEOUT_MS = 600_000;
const EPOCH = '1700000000';

describe.each(['root', 'rootless'] as const)('image bootstrap debian:bookworm (%s; needs root to run and network to deb.debian.org)', (mode) => {
  const s = useSuite(mode, 'boot');
  let first: BootstrapJson | undefined;

  it(
    'builds debian:bookworm with debootstrap into the store, and a container runs it',
    async () => {
      const r = await devenvAsync(['image', 'bootstrap', 'debian:bookworm', '--json'], {
        mode,
        root: s.root,
        env: { SOURCE_DATE_EPOCH: EPOCH },
        timeoutMs: BOOTSTRAP_TIMEOUT_MS,
      });
      expect(r.code, r.stderr).toBe(0);
      first = JSON.parse(r.stdout) as BootstrapJson;
      expect(first).toMatchObject({
        reference: 'docker.io/library/debian:bookworm',
        alreadyPresent: false,
        suite: 'bookworm',
        variant: 'minbase',
        rootless: mode === 'rootless',
      });
      expect(first.layer?.diffId).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(r.stderr).toContain('[install] installing the base system with debootstrap');
      expect(r.stderr).toContain('[import] storing the image as debian:bookworm');

      const run = await s.runAsync(['container', 'run', '--rm', 'debian:bookworm', 'cat', '/etc/debian_version']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^12\.\d+\n$/);

      // ids as Debian has them, also when a user namespace built the tree: root owns /usr, passwd stays setuid
      const owners = await s.runAsync(['container', 'run', '--rm', 'debian:bookworm', 'stat', '-c', '%a %U:%G', '/usr/bin/passwd', '/etc/shadow', '/usr']);
      expect(owners.code, owners.stderr).toBe(0);
      expect(owners.stdout.trim().split('\n')).toEqual(['4755 root:root', '640 root:shadow', '755 root:root']);
    },
    BOOTSTRAP_TIMEOUT_MS,
  );

  it('says the image is there and exits 0 when it is already in the store', async () => {
    const r = await s.runAsync(['image', 'bootstrap', 'debian:bookworm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('already in the store');
    const json = await s.runAsync(['image', 'bootstrap', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ alreadyPresent: true, manifestDigest: first?.manifestDigest });
  });

  it(
    'rebuilds from the cached packages, byte for byte the same layer under SOURCE_DATE_EPOCH',
    async () => {
      const r = await devenvAsync(['image', 'bootstrap', 'debian:bookworm', '--tag', 'local/debian:again', '--json'], {
        mode,
        root: s.root,
        env: { SOURCE_DATE_EPOCH: EPOCH },
        timeoutMs: BOOTSTRAP_TIMEOUT_MS,
      });
      expect(r.code, r.stderr).toBe(0);
      const again = JSON.parse(r.stdout) as BootstrapJson;
      expect(again.reference).toBe('docker.io/local/debian:again');
      expect(again.packageCache?.reused).toBe(true);
      expect(r.stderr).not.toContain('[download] debootstrap: Retrieving');
      expect(again.layer?.diffId).toBe(first?.layer?.diffId);
      expect(again.manifestDigest).toBe(first?.manifestDigest);
    },
    BOOTSTRAP_TIMEOUT_MS,
  );

  it('names the mirror when it cannot be reached, and leaves the store as it was', async () => {
    const r = await s.runAsync(['image', 'bootstrap', 'debian:bookworm', '--tag', 'broken/debian:x', '--mirror', 'http://127.0.0.1:1/debian']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('http://127.0.0.1:1/debian');
    const ls = await s.runAsync(['image', 'ls', '--json']);
    expect(ls.stdout).not.toContain('broken/debian');
  });

  it('refuses what it cannot bootstrap with a usage error', async () => {
    const r = await s.runAsync(['image', 'bootstrap', 'alpine:3.20']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Debian');
  });
});
