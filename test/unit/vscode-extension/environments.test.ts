import { describe, expect, it } from 'vitest';

import { describeEnvironment, describePort, findEnvironmentByName, findEnvironmentForFolder, parseEnvironments } from '../../../vscode-extension/src/environments.js';

const psOutput = JSON.stringify([
  {
    name: 'old-11111111', containerId: 'c1', workspaceFolder: '/home/u/old', configFile: '/home/u/old/.devcontainer.json',
    state: 'stopped', status: 'Exited (0) 2 hours ago', image: 'debian:bookworm', ports: [], created: '2026-01-01T00:00:00Z',
  },
  {
    name: 'app-07jp2hl3', containerId: 'c2', workspaceFolder: '/home/u/app', configFile: '/home/u/app/.devcontainer/devcontainer.json',
    state: 'running', status: 'Up', image: '127.0.0.1:5056/busybox:latest', remoteUser: 'root', remoteWorkspaceFolder: '/workspaces/app',
    ports: [3000, 'db:5432', 'localhost:8080', {}], created: '2026-01-02T00:00:00Z',
  },
]);

describe('parseEnvironments', () => {
  it('reads `devenv ps --json`, running environments first', () => {
    const envs = parseEnvironments(psOutput);
    expect(envs.map((e) => e.name)).toEqual(['app-07jp2hl3', 'old-11111111']);
    expect(envs[0]).toEqual({
      name: 'app-07jp2hl3', containerId: 'c2', workspaceFolder: '/home/u/app', configFile: '/home/u/app/.devcontainer/devcontainer.json',
      state: 'running', status: 'Up', image: '127.0.0.1:5056/busybox:latest', remoteUser: 'root', remoteWorkspaceFolder: '/workspaces/app',
      ports: [3000, 'db:5432', 'localhost:8080'],
    });
    expect(envs[1]).not.toHaveProperty('remoteUser');
  });

  it('reads an empty list and empty output', () => {
    expect(parseEnvironments('[]\n')).toEqual([]);
    expect(parseEnvironments('')).toEqual([]);
  });

  it('throws on anything but a list, and skips entries without a name', () => {
    expect(() => parseEnvironments('{"outcome":"error"}')).toThrow(/list/);
    expect(() => parseEnvironments('not json')).toThrow();
    expect(parseEnvironments('[{"state":"running"}, null, 3]')).toEqual([]);
  });
});

describe('finding environments', () => {
  const envs = parseEnvironments(psOutput);

  it('by folder, ignoring a trailing slash', () => {
    expect(findEnvironmentForFolder(envs, '/home/u/app/')?.name).toBe('app-07jp2hl3');
    expect(findEnvironmentForFolder(envs, '/home/u/none')).toBeUndefined();
  });

  it('prefers the running one when a folder has two', () => {
    const two = parseEnvironments(JSON.stringify([
      { name: 'a', workspaceFolder: '/p', state: 'stopped' },
      { name: 'b', workspaceFolder: '/p', state: 'running' },
    ]));
    expect(findEnvironmentForFolder(two, '/p')?.name).toBe('b');
  });

  it('by name, then case-insensitively', () => {
    expect(findEnvironmentByName(envs, 'APP-07JP2HL3')?.containerId).toBe('c2');
  });
});

describe('what the tree shows', () => {
  it('describes ports with their local port', () => {
    expect(describePort(3000)).toEqual({ label: '3000', hostPort: 3000 });
    expect(describePort('localhost:8080')).toEqual({ label: 'localhost:8080', hostPort: 8080 });
    expect(describePort('db:5432')).toEqual({ label: 'db:5432' });
    expect(describePort('weird')).toEqual({ label: 'weird' });
  });

  it('describes an environment by status and image, without the registry host', () => {
    const [app, old] = parseEnvironments(psOutput);
    expect(describeEnvironment(app!)).toBe('Up · busybox:latest');
    expect(describeEnvironment(old!)).toBe('Exited (0) 2 hours ago · debian:bookworm');
  });
});
