import { describe, expect, it } from 'vitest';

import type { DevContainerConfig } from '../../../../src/devcontainer/config/config-types.js';
import type { LoadedProject } from '../../../../src/devcontainer/config/load-project.js';
import { mergeConfiguration } from '../../../../src/devcontainer/config/merge-metadata.js';
import { translateRunArgs } from '../../../../src/devcontainer/config/run-args.js';
import { projectCreateOptions } from '../../../../src/services/project/project-options.js';
import { thrownDevenvError as thrown } from '../../../support/devenv-error.js';

function optionsFor(config: DevContainerConfig) {
  const project: LoadedProject = {
    workspaceFolder: '/src/app',
    configFile: '/src/app/.devcontainer/devcontainer.json',
    configText: JSON.stringify(config),
    config,
    idLabels: { 'devcontainer.local_folder': '/src/app', 'devcontainer.config_file': '/src/app/.devcontainer/devcontainer.json' },
    devcontainerId: '0123456789abcdef',
    containerWorkspaceFolder: '/workspaces/app',
    workspaceMount: { type: 'bind', source: '/src/app', target: '/workspaces/app' },
    warnings: [],
  };
  return projectCreateOptions({
    project,
    merged: mergeConfiguration(config, []),
    runArgs: translateRunArgs(config.runArgs ?? []).options,
    imageRef: 'sha256:0',
    imageConfig: {} as never,
    metadataLabel: '[]',
    remoteUser: 'root',
    rootless: false,
  });
}

describe('projectCreateOptions: ports and network', () => {
  it('gives every project automatic forwarding and its configured forwards, and keeps the runtime default network', () => {
    const r = optionsFor({ image: 'x', forwardPorts: [3000], appPort: 8080, portsAttributes: { '3000': { label: 'web' } } });
    expect(r.options.network).toBeUndefined();
    expect(r.options.ports).toEqual({
      forwards: [
        { containerPort: 8080, hostPort: 8080, requireLocalPort: true, protocol: 'tcp', source: 'config' },
        { containerPort: 3000, protocol: 'tcp', source: 'config', label: 'web' },
      ],
      autoForward: { enabled: true, ignore: [], attributes: [{ from: 3000, to: 3000, label: 'web' }] },
    });
    expect(r.requiredPorts).toEqual([{ containerPort: 8080, hostPort: 8080, protocol: 'tcp', property: 'appPort 8080' }]);
    expect(r.warnings).toEqual([]);
  });

  it('applies runArgs --network, --add-host and -p', () => {
    const r = optionsFor({ image: 'x', runArgs: ['--net=none', '--add-host', 'db:10.0.2.2', '-p', '127.0.0.1:9000:9000'] });
    expect(r.options.network).toBe('none');
    expect(r.options.addHosts).toEqual(['db:10.0.2.2']);
    expect(r.options.ports?.forwards).toEqual([{ containerPort: 9000, hostIp: '127.0.0.1', hostPort: 9000, requireLocalPort: true, protocol: 'tcp', source: 'config' }]);
    expect(r.warnings).toEqual([]);
  });

  it('forwards nothing with --network host, saying why', () => {
    const r = optionsFor({ image: 'x', forwardPorts: [3000], runArgs: ['--network', 'host'] });
    expect(r.options.network).toBe('host');
    expect(r.options.ports).toBeUndefined();
    expect(r.warnings).toEqual(['the container uses the host network: its ports are reachable as they are; the port forwards are ignored']);
  });

  it('fails on a bad --network value naming runArgs', () => {
    const e = thrown(() => optionsFor({ image: 'x', runArgs: ['--network', 'container:db'] }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe('runArgs: invalid --network value `container:db`');
  });
});
