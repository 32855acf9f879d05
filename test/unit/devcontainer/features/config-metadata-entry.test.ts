import { describe, expect, it } from 'vitest';

import type { DevContainerConfig } from '../../../../src/devcontainer/config/config-types.js';
import { configMetadataEntry } from '../../../../src/devcontainer/features/config-metadata-entry.js';

describe('configMetadataEntry', () => {
  it('keeps the metadata properties and drops build-time ones and unset values', () => {
    const config = {
      image: 'debian',
      features: { './f': {} },
      runArgs: ['--init'],
      workspaceFolder: '/w',
      remoteUser: 'dev',
      containerEnv: { A: '1' },
      postCreateCommand: ['echo', 'hi'],
      mounts: ['type=volume,source=x,target=/x'],
      customizations: { vscode: { extensions: ['a.b'] } },
      forwardPorts: [3000],
      init: true,
      privileged: false,
      containerUser: undefined,
    } as unknown as DevContainerConfig;
    expect(configMetadataEntry(config)).toEqual({
      remoteUser: 'dev',
      containerEnv: { A: '1' },
      postCreateCommand: ['echo', 'hi'],
      mounts: ['type=volume,source=x,target=/x'],
      customizations: { vscode: { extensions: ['a.b'] } },
      forwardPorts: [3000],
      init: true,
      privileged: false,
    });
  });
});
