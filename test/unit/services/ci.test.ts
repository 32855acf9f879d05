import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { runCi, type CiProjectServices, type CiReporter } from '../../../src/services/ci.js';
import { DevenvError } from '../../../src/errors.js';
import { tarFolder } from '../../support/feature-artifact.js';
import { context, FEATURE_FIXTURES, makeFeatureProject } from './features/features-harness.js';

function reporter(): CiReporter & { lines: string[] } {
  const lines: string[] = [];
  return { lines, step: (m) => lines.push(`step ${m}`), warn: (m) => lines.push(`warn ${m}`), line: (t) => lines.push(t), event: () => undefined };
}

function services(exitCode: number, calls: string[], options: { upFails?: boolean } = {}): CiProjectServices {
  return {
    async up(_ctx, o) {
      calls.push(`up rebuild=${o.rebuild} frozen=${o.frozenLockfile}`);
      if (options.upFails) throw new DevenvError('LIFECYCLE_FAILED', 'postCreateCommand failed');
      return { containerId: 'c1' };
    },
    async exec(_ctx, o) {
      calls.push(`exec ${o.command.join(' ')}`);
      return exitCode;
    },
    async down(_ctx, o) {
      calls.push(`down volumes=${o.volumes}`);
    },
  };
}

describe('runCi', () => {
  it('passes the exit code through and always removes the environment', async () => {
    const { folder } = makeFeatureProject({ image: 'x' });
    const calls: string[] = [];
    const result = await runCi(context(), { workspaceFolder: folder, command: ['false'], hostEnv: {}, reporter: reporter() }, services(1, calls));
    expect(result.exitCode).toBe(1);
    expect(calls).toEqual(['up rebuild=true frozen=true', 'exec false', 'down volumes=false']);
  });

  it('removes the environment when up fails', async () => {
    const { folder } = makeFeatureProject({ image: 'x' });
    const calls: string[] = [];
    await expect(runCi(context(), { workspaceFolder: folder, command: ['true'], hostEnv: {}, reporter: reporter() }, services(0, calls, { upFails: true }))).rejects.toThrow('postCreateCommand failed');
    expect(calls).toEqual(['up rebuild=true frozen=true', 'down volumes=false']);
  });

  it('refuses a drifted lockfile before bringing anything up', async () => {
    const { folder, configFile } = makeFeatureProject({ image: 'x', features: { 'https://example.com/devcontainer-feature-x.tgz': {} } });
    writeFileSync(join(configFile, '..', 'devcontainer-lock.json'), '{"features": {}}');
    const calls: string[] = [];
    const tgz = gzipSync(await tarFolder(join(FEATURE_FIXTURES, 'base')));
    const serve = (async () => new Response(tgz, { status: 200 })) as unknown as typeof fetch;
    const error = (await runCi(context(), { workspaceFolder: folder, command: ['true'], hostEnv: {}, reporter: reporter(), deps: { fetch: serve } }, services(0, calls)).catch(
      (e: unknown) => e,
    )) as DevenvError;
    expect(error.code).toBe('LOCKFILE_DRIFT');
    expect(error.message).toContain('does not lock `https://example.com/devcontainer-feature-x.tgz`');
    expect(calls).toEqual([]);
  });

  it('checks the fingerprint it is given', async () => {
    const { folder } = makeFeatureProject({ build: { dockerfile: 'Dockerfile' } });
    writeFileSync(join(folder, '.devcontainer', 'Dockerfile'), 'FROM busybox\n');
    const calls: string[] = [];
    const error = (await runCi(context(), { workspaceFolder: folder, command: ['true'], fingerprint: `sha256:${'0'.repeat(64)}`, hostEnv: {}, reporter: reporter() }, services(0, calls)).catch(
      (e: unknown) => e,
    )) as DevenvError;
    expect(error.code).toBe('FINGERPRINT_MISMATCH');
    expect(calls).toEqual([]);
  });
});
