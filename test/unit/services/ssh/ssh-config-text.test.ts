import { describe, expect, it } from 'vitest';

import {
  addDevenvInclude,
  buildProxyCommand,
  hasDevenvInclude,
  removeDevenvInclude,
  renderDevenvSshConfig,
  renderKnownHosts,
  shellQuote,
} from '../../../../src/services/ssh/ssh-config-text.js';

const CONFIG = '/home/u/.config/devenv/ssh/config';

describe('ssh config editing', () => {
  const userTexts = [
    '',
    'Host work\n  User me\n',
    '\n\n# comment first\nInclude other.conf\nHost *\n  ServerAliveInterval 30',
    'Host a\r\n  HostName b\r\n',
  ];

  it.each(userTexts)('adds the Include at the top and removes exactly it again (%j)', (text) => {
    const added = addDevenvInclude(text, CONFIG, text !== '');
    expect(added.startsWith('# Added by `devenv ssh-config`')).toBe(true);
    expect(added.split('\n')[1]).toBe(`Include ${CONFIG}`);
    expect(added.endsWith(text)).toBe(true);
    expect(hasDevenvInclude(added, CONFIG)).toBe(true);
    const removed = removeDevenvInclude(added, CONFIG);
    expect(removed.text).toBe(text);
    expect(removed.deleteFile).toBe(text === '');
  });

  it('is idempotent, and leaves a user-written copy of the marker alone', () => {
    const once = addDevenvInclude('Host x\n', CONFIG);
    expect(addDevenvInclude(once, CONFIG)).toBe(once);
    expect(removeDevenvInclude('# Added by `devenv ssh-config` (`devenv ssh-config --remove` takes it out again)\nHost x\n', CONFIG).text).toBe(
      '# Added by `devenv ssh-config` (`devenv ssh-config --remove` takes it out again)\nHost x\n',
    );
  });

  it('removes an Include the user moved elsewhere, keeping every other line', () => {
    const text = `Host x\n  User y\nInclude ${CONFIG}\nHost z\n`;
    expect(removeDevenvInclude(text, CONFIG)).toEqual({ text: 'Host x\n  User y\nHost z\n', deleteFile: false });
  });

  it('quotes paths with spaces', () => {
    const added = addDevenvInclude('', '/home/a b/.config/devenv/ssh/config', false);
    expect(added).toContain('Include "/home/a b/.config/devenv/ssh/config"');
    expect(removeDevenvInclude(added, '/home/a b/.config/devenv/ssh/config')).toEqual({ text: '', deleteFile: true });
  });
});

describe('devenv ssh_config and known_hosts', () => {
  it('renders one Host per environment with the ProxyCommand and strict host key checking', () => {
    const proxy = buildProxyCommand(['/usr/bin/node', "/opt/my devenv/bin/devenv"], '/var/lib/devenv');
    expect(proxy).toBe("/usr/bin/node '/opt/my devenv/bin/devenv' ssh --stdio --root /var/lib/devenv --host %h");
    const text = renderDevenvSshConfig({ hosts: [{ alias: 'web-1a2b3c4d.devenv', user: 'node', proxyCommand: proxy }], knownHostsFile: '/k h/known_hosts' });
    expect(text).toContain('Host web-1a2b3c4d.devenv\n  HostName web-1a2b3c4d.devenv\n  User node\n');
    expect(text).toContain(`  ProxyCommand ${proxy}\n`);
    expect(text).toContain('  UserKnownHostsFile "/k h/known_hosts"\n  StrictHostKeyChecking yes\n');
  });

  it('writes known_hosts lines without the key comment', () => {
    expect(renderKnownHosts([{ alias: 'a.devenv', publicKey: 'ssh-ed25519 AAAAC3 a.devenv\n' }])).toBe('a.devenv ssh-ed25519 AAAAC3\n');
  });

  it("quotes words for the shell ssh runs ProxyCommand with", () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('/plain/path-1.2')).toBe('/plain/path-1.2');
  });
});
