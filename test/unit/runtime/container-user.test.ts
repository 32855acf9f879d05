import { describe, expect, it } from 'vitest';

import { resolveContainerUser } from '../../../src/runtime/container-user.js';

const files = {
  passwd: 'root:x:0:0:root:/root:/bin/sh\nvscode:x:1000:1000::/home/vscode:/bin/sh\n',
  group: 'root:x:0:\nvscode:x:1000:\ndocker:x:999:vscode\nwheel:x:10:other\n',
};

describe('resolveContainerUser', () => {
  it('defaults to root with its home', () => {
    expect(resolveContainerUser(undefined, files)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root', name: 'root' });
  });
  it('resolves a name with its primary and supplementary groups', () => {
    expect(resolveContainerUser('vscode', files)).toMatchObject({ uid: 1000, gid: 1000, additionalGids: [999], home: '/home/vscode' });
  });
  it('accepts numeric ids without an entry (gid 0, as Docker)', () => {
    expect(resolveContainerUser('4242', files)).toMatchObject({ uid: 4242, gid: 0, home: '/' });
    expect(resolveContainerUser('4242:77', files)).toMatchObject({ uid: 4242, gid: 77 });
  });
  it('resolves a group name', () => {
    expect(resolveContainerUser('vscode:docker', files).gid).toBe(999);
  });
  it('names an unknown user or group', () => {
    expect(() => resolveContainerUser('nobody', files)).toThrow(/unknown user `nobody`/);
    expect(() => resolveContainerUser('vscode:nogroup', files)).toThrow(/unknown group `nogroup`/);
  });
});
