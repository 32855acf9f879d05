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
