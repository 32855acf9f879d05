import { describe, expect, it } from 'vitest';

import type { DevContainerConfig, ImageMetadataEntry } from '../../../src/devcontainer/config/config-types.js';
import { mergeConfiguration, mountTarget, parseImageMetadataLabel } from '../../../src/devcontainer/config/merge-metadata.js';
import { DevenvError } from '../../../src/errors.js';
import { thrownDevenvError as thrown } from '../../support/devenv-error.js';

describe('parseImageMetadataLabel', () => {
  it('reads an array, a single object, and nothing', () => {
    expect(parseImageMetadataLabel('[{"remoteUser":"vscode"},{"id":"f","init":true}]', 'image x')).toEqual([
      { remoteUser: 'vscode' },
      { id: 'f', init: true },
    ]);
    expect(parseImageMetadataLabel('{"containerUser":"root"}', 'image x')).toEqual([{ containerUser: 'root' }]);
    expect(parseImageMetadataLabel(undefined, 'image x')).toEqual([]);
    expect(parseImageMetadataLabel('  ', 'image x')).toEqual([]);
  });

  it('names the image when the JSON is broken', () => {
    const error = thrown(() => parseImageMetadataLabel('[{"remoteUser":', 'image `mcr.microsoft.com/devcontainers/base:1`'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('image `mcr.microsoft.com/devcontainers/base:1`');
    expect(error.message).toContain('devcontainer.metadata');
    expect(error.hint).toBeDefined();
  });

  it('rejects values that are not entries, and fields of the wrong type', () => {
    expect(thrown(() => parseImageMetadataLabel('42', 'image x')).message).toContain('is not an object');
    expect(thrown(() => parseImageMetadataLabel('[{}, "x"]', 'image x')).message).toContain('devcontainer.metadata[1]');
    const error = thrown(() => parseImageMetadataLabel('[{"capAdd":"SYS_PTRACE"}]', 'image x'));
    expect(error.message).toBe('image x: label `devcontainer.metadata[0].capAdd` must be an array of strings');
    expect(thrown(() => parseImageMetadataLabel('{"postCreateCommand":{"a":1}}', 'image x')).message).toContain('postCreateCommand');
  });

  it('keeps unknown fields', () => {
    expect(parseImageMetadataLabel('{"somethingNew":1}', 'image x')).toEqual([{ somethingNew: 1 }]);
  });
});

describe('mergeConfiguration', () => {
  it('gives empty collections and the default userEnvProbe for an empty config', () => {
    expect(mergeConfiguration({}, [])).toEqual({
      init: false,
      privileged: false,
      capAdd: [],
      securityOpt: [],
      entrypoints: [],
      mounts: [],
      customizations: {},
      containerEnv: {},
      remoteEnv: {},
      userEnvProbe: 'loginInteractiveShell',
      forwardPorts: [],
      portsAttributes: {},
      onCreateCommands: [],
      updateContentCommands: [],
      postCreateCommands: [],
      postStartCommands: [],
      postAttachCommands: [],
      hookOrigins: { onCreateCommand: [], updateContentCommand: [], postCreateCommand: [], postStartCommand: [], postAttachCommand: [] },
    });
    expect(mergeConfiguration({}, [], { defaultUserEnvProbe: 'none' }).userEnvProbe).toBe('none');
  });

  it('ors booleans and unions capAdd and securityOpt', () => {
    const merged = mergeConfiguration({ capAdd: ['SYS_PTRACE', 'NET_ADMIN'], privileged: false }, [
      { init: true, capAdd: ['SYS_PTRACE'], securityOpt: ['seccomp=unconfined'] },
      { privileged: true, securityOpt: ['seccomp=unconfined', 'label=disable'] },
    ]);
    expect(merged.init).toBe(true);
    expect(merged.privileged).toBe(true);
    expect(merged.capAdd).toEqual(['SYS_PTRACE', 'NET_ADMIN']);
    expect(merged.securityOpt).toEqual(['seccomp=unconfined', 'label=disable']);
  });

  it('collects entrypoints from image and Feature entries', () => {
    const merged = mergeConfiguration({}, [{ entrypoint: '/usr/local/share/docker-init.sh' }, { id: 'b', entrypoint: '/b.sh' }, {}]);
    expect(merged.entrypoints).toEqual(['/usr/local/share/docker-init.sh', '/b.sh']);
  });

  it('collects mounts, a later entry replacing an earlier one on the same target', () => {
    const merged = mergeConfiguration(
      { mounts: ['source=cfg,target=/data,type=volume', { type: 'bind', source: '/h', target: '/x' }] },
      [
        { mounts: ['type=volume,src=img,dst=/data', 'type=bind,source=/a,target=/a'] },
        { mounts: [{ type: 'volume', source: 'feat', target: '/x' }, 'type=tmpfs,destination=/tmp'] },
      ],
    );
    expect(merged.mounts).toEqual([
      'type=bind,source=/a,target=/a',
      'type=tmpfs,destination=/tmp',
      'source=cfg,target=/data,type=volume',
      { type: 'bind', source: '/h', target: '/x' },
    ]);
  });

  it('finds mount targets under every spelling Docker accepts', () => {
    expect(mountTarget('type=bind,source=/a,target=/b')).toBe('/b');
    expect(mountTarget('type=bind,src=/a,dst=/c')).toBe('/c');
    expect(mountTarget('type=bind,src=/a,Destination=/d')).toBe('/d');
    expect(mountTarget('type=bind,src=/a')).toBeUndefined();
  });

  it('collects customizations per key into arrays, in entry order', () => {
    const merged = mergeConfiguration({ customizations: { vscode: { extensions: ['c'] } } }, [
      { customizations: { vscode: { extensions: ['a'] }, codespaces: { x: 1 } } },
      { customizations: { vscode: { settings: { s: 1 } } } },
    ]);
    expect(merged.customizations).toEqual({
      vscode: [{ extensions: ['a'] }, { settings: { s: 1 } }, { extensions: ['c'] }],
      codespaces: [{ x: 1 }],
    });
  });

  it('merges env maps and portsAttributes with the later entry winning', () => {
    const merged = mergeConfiguration(
      { containerEnv: { A: 'config' }, remoteEnv: { R: null }, portsAttributes: { '3000': { label: 'app' } } },
      [
        { containerEnv: { A: 'image', B: 'image' }, remoteEnv: { R: 'image', S: 's' }, portsAttributes: { '3000': { label: 'old' }, '9000': { label: 'x' } } },
      ],
    );
    expect(merged.containerEnv).toEqual({ A: 'config', B: 'image' });
    expect(merged.remoteEnv).toEqual({ R: null, S: 's' });
    expect(merged.portsAttributes).toEqual({ '3000': { label: 'app' }, '9000': { label: 'x' } });
  });

  it('takes single values from the last entry that sets them', () => {
    const entries: ImageMetadataEntry[] = [
      { containerUser: 'root', remoteUser: 'vscode', userEnvProbe: 'loginShell', overrideCommand: false, updateRemoteUserUID: true, waitFor: 'postCreateCommand', shutdownAction: 'none' },
      { remoteUser: 'node', overrideCommand: true, updateRemoteUserUID: false },
    ];
    const config: DevContainerConfig = { userEnvProbe: 'interactiveShell', overrideCommand: false };
    const merged = mergeConfiguration(config, entries);
    expect(merged).toMatchObject({
      containerUser: 'root',
      remoteUser: 'node',
      userEnvProbe: 'interactiveShell',
      overrideCommand: false,
      updateRemoteUserUID: false,
      waitFor: 'postCreateCommand',
      shutdownAction: 'none',
    });
  });

  it('leaves unset single values out of the result', () => {
    const merged = mergeConfiguration({}, [{}]);
    expect('remoteUser' in merged).toBe(false);
    expect('waitFor' in merged).toBe(false);
    expect('hostRequirements' in merged).toBe(false);
  });

  it('unions forwardPorts, treating 3000 and "localhost:3000" as one', () => {
    const merged = mergeConfiguration({ forwardPorts: ['localhost:3000', 'db:5432', 8080] }, [{ forwardPorts: [3000, 'db:5432'] }]);
    expect(merged.forwardPorts).toEqual([3000, 'db:5432', 8080]);
    expect(mergeConfiguration({ forwardPorts: ['localhost:4000', 'mylocalhost:1'] }, []).forwardPorts).toEqual([4000, 'mylocalhost:1']);
  });

  it('takes the maximum of each host requirement', () => {
    const merged = mergeConfiguration({ hostRequirements: { cpus: 2, memory: '8gb' } }, [
      { hostRequirements: { cpus: 4, memory: '4gb', storage: '32gb' } },
      { hostRequirements: { storage: '64GB', gpu: 'optional' } },
    ]);
    expect(merged.hostRequirements).toEqual({ cpus: 4, memory: '8gb', storage: '64GB', gpu: 'optional' });
  });

  it('merges GPU requirements: required beats optional, objects take the maximum', () => {
    const gpu = (...values: NonNullable<ImageMetadataEntry['hostRequirements']>['gpu'][]) =>
      mergeConfiguration({}, values.map((g) => ({ hostRequirements: { gpu: g } }))).hostRequirements?.gpu;
    expect(gpu('optional', 'optional')).toBe('optional');
    expect(gpu('optional', true)).toBe(true);
    expect(gpu(false, 'optional')).toBe('optional');
    expect(gpu({ cores: 2 }, { cores: 4, memory: '8gb' }, 'optional')).toEqual({ cores: 4, memory: '8gb' });
    expect(gpu(false)).toBeUndefined();
  });

  it('rejects a host requirement size it cannot read', () => {
    const error = thrown(() => mergeConfiguration({ hostRequirements: { memory: 'lots' } }, []));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('hostRequirements.memory');
  });

  it('collects lifecycle commands in order, config last, skipping unset ones, with their origins', () => {
    const merged = mergeConfiguration({ postCreateCommand: 'npm ci', onCreateCommand: ['make', 'setup'] }, [
      { postCreateCommand: 'echo image', postStartCommand: { a: 'x', b: ['y'] } },
      { id: 'ghcr.io/devcontainers/features/node:1', postCreateCommand: 'nvm use' },
      { id: 'ghcr.io/x/y:1' },
      { postCreateCommand: '' },
    ]);
    expect(merged.postCreateCommands).toEqual(['echo image', 'nvm use', 'npm ci']);
    expect(merged.onCreateCommands).toEqual([['make', 'setup']]);
    expect(merged.postStartCommands).toEqual([{ a: 'x', b: ['y'] }]);
    expect(merged.updateContentCommands).toEqual([]);
    expect(merged.hookOrigins?.postCreateCommand).toEqual(['image metadata', 'Feature `ghcr.io/devcontainers/features/node:1`', 'devcontainer.json']);
    expect(merged.hookOrigins?.onCreateCommand).toEqual(['devcontainer.json']);
  });

  it('ignores config fields outside the merge (no entrypoint from devcontainer.json)', () => {
    const merged = mergeConfiguration({ image: 'x', runArgs: ['--init'], name: 'n' }, []);
    expect(merged.init).toBe(false);
    expect(merged.entrypoints).toEqual([]);
  });
});

describe('mergeConfiguration with hostile labels', () => {
  it('keeps a "__proto__" key an ordinary key', () => {
    const entries = parseImageMetadataLabel('{"containerEnv":{"__proto__":{"X":"1"}},"customizations":{"__proto__":1}}', 'image x');
    const merged = mergeConfiguration({}, entries);
    expect(Object.getPrototypeOf(merged.containerEnv)).toBe(Object.prototype);
    expect(Object.keys(merged.containerEnv)).toEqual(['__proto__']);
    expect(Object.keys(merged.customizations)).toEqual(['__proto__']);
  });
});
