import { describe, expect, it } from 'vitest';

import { devcontainerId, idLabelsFor } from '../../../../src/devcontainer/config/devcontainer-id.js';

// Expected values computed independently of our code (and of the devcontainer CLI's) with:
// python3 -c "
// import hashlib, json
// def dcid(labels):
//     s = json.dumps({k: labels[k] for k in sorted(labels)}, separators=(',', ':'), ensure_ascii=False)
//     n = int(hashlib.sha256(s.encode()).hexdigest(), 16)
//     d = ''
//     while n: d = '0123456789abcdefghijklmnopqrstuv'[n % 32] + d; n //= 32
//     return d.rjust(52, '0')
// print(dcid({'devcontainer.local_folder': '/home/me/project', 'devcontainer.config_file': '/home/me/project/.devcontainer/devcontainer.json'}))
// print(dcid({'a': 'b'}))
// print(dcid({'c': 'd', 'a': 'b'}))
// "
describe('devcontainerId', () => {
  it('matches the devcontainer CLI algorithm', () => {
    const labels = idLabelsFor('/home/me/project', '/home/me/project/.devcontainer/devcontainer.json');
    expect(labels).toEqual({
      'devcontainer.local_folder': '/home/me/project',
      'devcontainer.config_file': '/home/me/project/.devcontainer/devcontainer.json',
    });
    expect(devcontainerId(labels)).toBe('0e2es6og3jdg1b2jsrd207bkmrel58lonuoltdmegr184l4o50mg');
    expect(devcontainerId({ a: 'b' })).toBe('1mqafr5h2iu6dhh3k1m4vtnuhml2uiec4s7bntt1v0f25ao63i1n');
  });

  it('ignores label order, pads to 52 base-32 digits', () => {
    expect(devcontainerId({ c: 'd', a: 'b' })).toBe('1e2sfmkjt1sga649hgk0s5f3u6nlqhlv9al481r91s7gkeo32p3o');
    expect(devcontainerId({ a: 'b', c: 'd' })).toBe(devcontainerId({ c: 'd', a: 'b' }));
    expect(devcontainerId(idLabelsFor('/x', '/x/.devcontainer.json'))).toMatch(/^[0-9a-v]{52}$/);
  });
});
