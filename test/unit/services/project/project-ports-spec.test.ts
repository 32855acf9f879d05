import { describe, expect, it } from 'vitest';

import { projectNetworkOptions } from '../../../../src/services/project/project-network.js';
import { projectPortsSpec, type ProjectPortsInput } from '../../../../src/services/project/project-ports-spec.js';
import { thrownDevenvError as thrown } from '../../../support/devenv-error.js';

const base: ProjectPortsInput = { forwardPorts: [], portsAttributes: {}, publish: [] };

describe('projectPortsSpec', () => {
  it('turns automatic forwarding on for every project, even without forwardPorts', () => {
    expect(projectPortsSpec(base)).toEqual({ spec: { forwards: [], autoForward: { enabled: true, ignore: [] } }, warnings: [], required: [] });
  });

  it('forwardPorts (numbers and "localhost:N") take the same host port or the next free one, with their attributes', () => {
    const r = projectPortsSpec({ ...base, forwardPorts: [3000, 'localhost:47010'], portsAttributes: { '3000': { label: 'web' } } });
    expect(r.spec?.forwards).toEqual([
      { containerPort: 3000, protocol: 'tcp', source: 'config', label: 'web' },
      { containerPort: 47010, protocol: 'tcp', source: 'config' },
    ]);
    expect(r.required).toEqual([]);
  });

  it('names the property that requires a host port: portsAttributes, appPort or runArgs -p', () => {
    const r = projectPortsSpec({
      ...base,
      forwardPorts: [3000, 4000],
      appPort: [5000, '6001:6000'],
      portsAttributes: { '3000': { requireLocalPort: true }, '3990-4010': { requireLocalPort: false } },
      publish: ['7001:7000/udp', '8000'],
    });
    expect(r.required).toEqual([
      { containerPort: 7000, hostPort: 7001, protocol: 'udp', property: 'runArgs -p 7001:7000/udp' },
      { containerPort: 5000, hostPort: 5000, protocol: 'tcp', property: 'appPort 5000' },
      { containerPort: 6000, hostPort: 6001, protocol: 'tcp', property: 'appPort "6001:6000"' },
      { containerPort: 3000, hostPort: 3000, protocol: 'tcp', property: 'portsAttributes["3000"].requireLocalPort' },
    ]);
    // runArgs -p forwards belong to the config, like forwardPorts
    expect(r.spec?.forwards.map((f) => [f.containerPort, f.source])).toEqual([
      [7000, 'config'], [8000, 'config'], [5000, 'config'], [6000, 'config'], [3000, 'config'], [4000, 'config'],
    ]);
  });

  it('passes onAutoForward ignore and otherPortsAttributes to automatic forwarding', () => {
    const r = projectPortsSpec({ ...base, portsAttributes: { '5432': { onAutoForward: 'ignore' }, '9000-9100': { label: 'debug' } }, otherPortsAttributes: { onAutoForward: 'ignore' } });
    expect(r.spec?.autoForward).toEqual({
      enabled: true,
      ignore: [5432],
      attributes: [{ from: 5432, to: 5432, ignore: true }, { from: 9000, to: 9100, label: 'debug' }],
      ignoreOthers: true,
    });
  });

  it('forwards nothing on the host network, with a warning when something was asked', () => {
    expect(projectPortsSpec({ ...base, network: 'host' })).toEqual({ spec: undefined, warnings: [], required: [] });
    const r = projectPortsSpec({ ...base, network: 'host', forwardPorts: [3000] });
    expect(r.spec).toBeUndefined();
    expect(r.warnings).toEqual(['the container uses the host network: its ports are reachable as they are; the port forwards are ignored']);
  });

  it('rejects a malformed runArgs -p or appPort naming the property', () => {
    const e = thrown(() => projectPortsSpec({ ...base, publish: ['80:http'] }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe('runArgs: invalid -p value `80:http`: container port `http` is not a port number (1-65535)');
    const a = thrown(() => projectPortsSpec({ ...base, appPort: '1:2:3:4' }));
    expect(a.code).toBe('CONFIG_INVALID');
    expect(a.message).toMatch(/^appPort: invalid -p value `1:2:3:4`/);
  });
});

describe('projectNetworkOptions', () => {
  it('reads --network modes and their aliases, and checks --add-host', () => {
    expect(projectNetworkOptions({ addHosts: [] })).toEqual({});
    expect(projectNetworkOptions({ network: 'none', addHosts: [] })).toEqual({ network: 'none' });
    expect(projectNetworkOptions({ network: 'bridge', addHosts: ['db:10.0.2.2', 'h:host-gateway'] })).toEqual({ network: 'private', addHosts: ['db:10.0.2.2', 'h:host-gateway'] });
  });

  it('names runArgs for a bad value', () => {
    const n = thrown(() => projectNetworkOptions({ network: 'container:web', addHosts: [] }));
    expect(n.code).toBe('CONFIG_INVALID');
    expect(n.message).toBe('runArgs: invalid --network value `container:web`');
    expect(n.hint).toMatch(/not supported/);
    const h = thrown(() => projectNetworkOptions({ addHosts: ['nocolon'] }));
    expect(h.message).toBe('runArgs: invalid --add-host value `nocolon`');
  });
});
