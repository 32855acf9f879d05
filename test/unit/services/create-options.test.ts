import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  checkContainerName,
  checkRootfs,
  parseEnvFile,
  parseEnvFlag,
  parseMountFlag,
  parsePidsLimit,
  parseUlimitFlag,
  parseVolumeFlag,
} from '../../../src/services/container/create-options.js';
import { mergeEnv } from '../../../src/services/container/create.js';

describe('create options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devenv-opts-'));
  it('env flags: KEY=VALUE kept verbatim, KEY from the host or skipped', () => {
    expect(parseEnvFlag("A=x y 'z' $H \\", {})).toBe("A=x y 'z' $H \\");
    expect(parseEnvFlag('HOME', { HOME: '/h' })).toBe('HOME=/h');
    expect(parseEnvFlag('UNSET', {})).toBeUndefined();
  });
  it('env files name the file and line of a bad entry', () => {
    expect(parseEnvFile('/e', '# c\nA=1\n\nB\nC=a=b\n', { B: 'host' })).toEqual(['A=1', 'B=host', 'C=a=b']);
    expect(() => parseEnvFile('/e', 'A=1\n1X=2\n', {})).toThrow('/e:2: `1X` is not a valid variable name');
  });
  it('volumes need an existing absolute source', () => {
    expect(parseVolumeFlag(`${dir}:/data:ro`)).toEqual({ type: 'bind', source: dir, target: '/data', readonly: true });
    expect(() => parseVolumeFlag('/does/not/exist:/x')).toThrow(/does not exist/);
    expect(() => parseVolumeFlag(`${dir}:relative`)).toThrow(/must be absolute/);
    expect(() => parseVolumeFlag(`${dir}:/x:bogus`)).toThrow(/invalid -v option `bogus`/);
  });
  it('--mount bind and tmpfs', () => {
    expect(parseMountFlag(`type=bind,source=${dir},target=/w,readonly`)).toMatchObject({ type: 'bind', readonly: true, target: '/w' });
    expect(parseMountFlag('type=tmpfs,target=/cache')).toEqual({ type: 'tmpfs', target: '/cache', readonly: false });
    expect(() => parseMountFlag('type=npipe,target=/x')).toThrow(/type `npipe` is not supported/);
    expect(() => parseMountFlag('type=bind,source=rel,target=/x')).toThrow(/not an absolute host path/);
  });
  it('-v NAME:/path is a named volume, -v /path an anonymous one; mounts come back without a source', () => {
    expect(parseVolumeFlag('cache:/root/.cache')).toEqual({ type: 'bind', target: '/root/.cache', readonly: false, volume: { name: 'cache', anonymous: false } });
    expect(parseVolumeFlag('web-1.data_x:/d:ro,nocopy')).toEqual({ type: 'bind', target: '/d', readonly: true, volume: { name: 'web-1.data_x', anonymous: false } });
    const anon = parseVolumeFlag('/scratch');
    expect(anon).toMatchObject({ type: 'bind', target: '/scratch', readonly: false, volume: { anonymous: true } });
    expect(anon.volume?.name).toMatch(/^[0-9a-f]{64}$/);
    expect(anon.source).toBeUndefined();
    expect(parseVolumeFlag('/scratch').volume?.name).not.toBe(anon.volume?.name);
    expect(() => parseVolumeFlag('bad@name:/x')).toThrow('-v `bad@name:/x`: `bad@name` is not a valid volume name');
    expect(() => parseVolumeFlag('_x:/x')).toThrow(/not a valid volume name/);
    expect(() => parseVolumeFlag('vol:relative')).toThrow(/must be absolute/);
    expect(() => parseVolumeFlag('relative')).toThrow(/invalid -v value/);
    expect(() => parseVolumeFlag(`${dir}:/x:nocopy`)).toThrow(/applies to volumes/);
  });
  it('--mount type=volume: named with source=, anonymous without; unsupported options are refused', () => {
    expect(parseMountFlag('type=volume,source=data,target=/data,readonly')).toEqual({ type: 'bind', target: '/data', readonly: true, volume: { name: 'data', anonymous: false } });
    expect(parseMountFlag('src=data,dst=/data,type=volume,volume-driver=local,volume-nocopy')).toEqual({ type: 'bind', target: '/data', readonly: false, volume: { name: 'data', anonymous: false } });
    const anon = parseMountFlag('type=volume,target=/scratch');
    expect(anon.volume).toMatchObject({ anonymous: true });
    expect(anon.volume?.name).toMatch(/^[0-9a-f]{64}$/);
    expect(() => parseMountFlag('type=volume,source=/host,target=/x')).toThrow(/takes a volume name, not the path `\/host`/);
    expect(() => parseMountFlag('type=volume,source=data,target=x')).toThrow(/must be absolute/);
    expect(() => parseMountFlag('type=volume,source=data,target=/x,volume-opt=type=nfs')).toThrow(/volume-opt is not supported/);
    expect(() => parseMountFlag('type=volume,source=data,target=/x,volume-driver=nfs')).toThrow(/volume driver `nfs` is not supported/);
  });
  it('ulimits, pids limit and names', () => {
    expect(parseUlimitFlag('nofile=1024:2048')).toEqual({ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 });
    expect(() => parseUlimitFlag('nofile=10:5')).toThrow(/soft limit above hard/);
    expect(() => parseUlimitFlag('bogus=1')).toThrow(/invalid --ulimit value `bogus=1`/);
    expect(parsePidsLimit('50')).toBe(50);
    expect(() => parsePidsLimit('0')).toThrow(/--pids-limit/);
    expect(checkContainerName('web-1.a_b')).toBe('web-1.a_b');
    expect(() => checkContainerName('-bad')).toThrow(/invalid container name/);
  });
  it('rootfs must be an existing directory', () => {
    const file = join(dir, 'f');
    writeFileSync(file, '');
    expect(() => checkRootfs('/no/such/rootfs')).toThrow('rootfs `/no/such/rootfs` does not exist');
    expect(() => checkRootfs(file)).toThrow(/is not a directory/);
  });
  it('mergeEnv lets later values win', () => {
    expect(mergeEnv(['PATH=/bin', 'A=1'], ['A=2', 'B=3'])).toEqual(['PATH=/bin', 'A=2', 'B=3']);
  });
});
