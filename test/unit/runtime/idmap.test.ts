import { describe, expect, it } from 'vitest';

import { DevenvError } from '../../../src/errors.js';
import { computeIdMappings, parseSubIdFile, rangesForUser, toHostId } from '../../../src/runtime/idmap.js';

const subs = parseSubIdFile('# comment\nalice:100000:65536\n1001:200000:65536\nbroken line\nbob:x:1\n');

describe('subordinate id files', () => {
  it('parses valid lines and skips the rest', () => {
    expect(subs).toEqual([
      { owner: 'alice', start: 100000, count: 65536 },
      { owner: '1001', start: 200000, count: 65536 },
    ]);
  });
  it('matches by name or uid', () => {
    expect(rangesForUser(subs, { name: 'alice', uid: 1000 })).toHaveLength(1);
    expect(rangesForUser(subs, { name: 'carol', uid: 1001 })[0]?.start).toBe(200000);
    expect(rangesForUser(subs, { name: 'dave', uid: 1002 })).toEqual([]);
  });
});

describe('computeIdMappings', () => {
  const base = { uid: 1000, gid: 1000, user: 'alice', subuids: subs.slice(0, 1), subgids: subs.slice(0, 1) };

  it('root gets the identity map of the full range', () => {
    const m = computeIdMappings({ ...base, uid: 0, gid: 0, rootless: false, mode: 'default' });
    expect(m.uid).toEqual([{ containerID: 0, hostID: 0, size: 4294967295 }]);
  });

  it('rootless maps the user to root and the range above it', () => {
    const m = computeIdMappings({ ...base, rootless: true, mode: 'default' });
    expect(m.uid).toEqual([
      { containerID: 0, hostID: 1000, size: 1 },
      { containerID: 1, hostID: 100000, size: 65536 },
    ]);
    expect(toHostId(m.uid, 0)).toBe(1000);
    expect(toHostId(m.uid, 1000)).toBe(100999);
  });

  it('keep-id maps the user to the same id inside', () => {
    const m = computeIdMappings({ ...base, rootless: true, mode: 'keep-id' });
    expect(toHostId(m.uid, 1000)).toBe(1000);
    expect(toHostId(m.uid, 0)).toBe(100000);
    expect(toHostId(m.uid, 1001)).toBe(101000);
    const total = m.uid.reduce((n, x) => n + x.size, 0);
    expect(total).toBe(65537);
  });

  it('keep-id is unchanged for a single range (the same id inside)', () => {
    const m = computeIdMappings({ ...base, rootless: true, mode: 'keep-id' });
    expect(m.uid).toEqual([
      { containerID: 0, hostID: 100000, size: 1000 },
      { containerID: 1000, hostID: 1000, size: 1 },
      { containerID: 1001, hostID: 101000, size: 64536 },
    ]);
    expect(m.gid).toEqual(m.uid);
  });

  it('keep-id with a target id maps that container id to the host user', () => {
    const m = computeIdMappings({ ...base, uid: 1002, gid: 1003, keepIdUid: 1000, keepIdGid: 1000, rootless: true, mode: 'keep-id' });
    expect(m.uid).toEqual([
      { containerID: 0, hostID: 100000, size: 1000 },
      { containerID: 1000, hostID: 1002, size: 1 },
      { containerID: 1001, hostID: 101000, size: 64536 },
    ]);
    expect(toHostId(m.gid, 1000)).toBe(1003);
    expect(toHostId(m.uid, 0)).toBe(100000);
    expect(toHostId(m.uid, 999)).toBe(100999);
    expect(toHostId(m.uid, 1001)).toBe(101000);
    expect(toHostId(m.uid, 65536)).toBe(165535);
    expect(toHostId(m.uid, 65537)).toBeUndefined();
  });

  it('keep-id with target 0 is the default mapping', () => {
    const keep = computeIdMappings({ ...base, keepIdUid: 0, keepIdGid: 0, rootless: true, mode: 'keep-id' });
    const def = computeIdMappings({ ...base, rootless: true, mode: 'default' });
    expect(keep).toEqual(def);
  });

  it('keep-id spreads the ids below and above the target over several ranges', () => {
    const ranges = [
      { owner: 'alice', start: 100000, count: 600 },
      { owner: 'alice', start: 300000, count: 1000 },
    ];
    const m = computeIdMappings({ ...base, subuids: ranges, subgids: ranges, keepIdUid: 1000, keepIdGid: 1000, rootless: true, mode: 'keep-id' });
    expect(m.uid).toEqual([
      { containerID: 0, hostID: 100000, size: 600 },
      { containerID: 600, hostID: 300000, size: 400 },
      { containerID: 1000, hostID: 1000, size: 1 },
      { containerID: 1001, hostID: 300400, size: 600 },
    ]);
    // every container id maps to a distinct host id
    const hosts = new Set(Array.from({ length: 1601 }, (_, i) => toHostId(m.uid, i)));
    expect(hosts.size).toBe(1601);
    expect(hosts.has(undefined)).toBe(false);
  });

  it('keep-id fails clearly when the ranges cannot hold the ids below the target', () => {
    const small = [{ owner: 'alice', start: 100000, count: 500 }];
    try {
      computeIdMappings({ ...base, uid: 1002, subuids: small, keepIdUid: 1000, rootless: true, mode: 'keep-id' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DevenvError);
      expect((error as DevenvError).code).toBe('IDMAP_MISSING');
      expect((error as DevenvError).message).toMatch(/\/etc\/subuid.*500 ids.*container uid 1000/);
      expect((error as DevenvError).hint).toContain('at least 1001 ids');
    }
    // exactly enough: ids 0..999 below, none above
    const m = computeIdMappings({ ...base, subuids: small, subgids: small, keepIdUid: 500, keepIdGid: 500, rootless: true, mode: 'keep-id' });
    expect(m.uid).toEqual([
      { containerID: 0, hostID: 100000, size: 500 },
      { containerID: 500, hostID: 1000, size: 1 },
    ]);
  });

  it('keep-id refuses a target id that is not an id', () => {
    expect(() => computeIdMappings({ ...base, keepIdUid: -1, rootless: true, mode: 'keep-id' })).toThrow(/invalid container uid/);
  });

  it('fails with the usermod fix when the user has no range', () => {
    try {
      computeIdMappings({ ...base, subuids: [], rootless: true, mode: 'default' });
      expect.unreachable();
    } catch (error) {
      expect((error as DevenvError).code).toBe('IDMAP_MISSING');
      expect((error as DevenvError).hint).toContain('usermod --add-subuids');
    }
  });
});
