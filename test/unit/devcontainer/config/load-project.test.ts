import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { describe, expect, it } from 'vitest';

import { devcontainerId } from '../../../../src/devcontainer/config/devcontainer-id.js';
import { loadProject, resolveConfigPath } from '../../../../src/devcontainer/config/load-project.js';
import { copyFixture, makeTempDir, thrown, writeFiles } from './temp-dirs.js';

const hostEnv = { HOME: '/home/me', DEVENV_TEST_USER: 'alice' };

function projectWith(config: object | string, name = 'proj'): string {
  const text = typeof config === 'string' ? config : JSON.stringify(config, null, 2);
  return writeFiles(join(makeTempDir(), name), { '.devcontainer/devcontainer.json': text });
}

describe('loadProject', () => {
  it('loads, substitutes and locates an image project', () => {
    const root = copyFixture('image-basic');
    const project = loadProject({ workspaceFolder: root, hostEnv });
    const configFile = join(root, '.devcontainer/devcontainer.json');
    const idLabels = { 'devcontainer.local_folder': root, 'devcontainer.config_file': configFile };
    const id = devcontainerId(idLabels);

    expect(project.workspaceFolder).toBe(root);
    expect(project.configFile).toBe(configFile);
    expect(project.configText).toContain('// A typical image-based config');
    expect(project.idLabels).toEqual(idLabels);
    expect(project.devcontainerId).toBe(id);
    expect(project.containerWorkspaceFolder).toBe('/workspaces/image-basic');
    expect(project.workspaceMount).toEqual({ type: 'bind', source: root, target: '/workspaces/image-basic' });
    expect(project.warnings).toEqual([]);
    expect(project.config.containerEnv).toEqual({ PROJECT: 'image-basic', HOST_USER: 'alice' });
    expect(project.config.remoteEnv).toEqual({ PATH: '${containerEnv:PATH}:/extra/bin', UNSET: null });
    expect(project.config.mounts).toEqual([
      `type=volume,source=cache-${id},target=/cache`,
      { type: 'bind', source: `${root}/data`, target: '/data', readonly: true },
    ]);
    expect(project.config.postCreateCommand).toBe('echo created in /workspaces/image-basic');
    expect(project.config.forwardPorts).toEqual([3000, 'db:5432']);
  });

  it('uses localEnv defaults when the host variable is missing', () => {
    const project = loadProject({ workspaceFolder: copyFixture('image-basic'), hostEnv: {} });
    expect(project.config.containerEnv?.HOST_USER).toBe('nobody');
  });

  it('resolves the workspace folder against the current directory and through symlinks', () => {
    const root = copyFixture('dot-devcontainer-json');
    const link = join(makeTempDir(), 'link');
    symlinkSync(root, link);
    const cwd = process.cwd();
    try {
      process.chdir(join(link, '..'));
      const project = loadProject({ workspaceFolder: 'link', hostEnv });
      expect(project.workspaceFolder).toBe(root);
      expect(project.configFile).toBe(join(root, '.devcontainer.json'));
      expect(project.containerWorkspaceFolder).toBe('/workspaces/dot-devcontainer-json');
    } finally {
      process.chdir(cwd);
    }
  });

  it('mounts the enclosing git repository and works below it', () => {
    const repo = join(makeTempDir(), 'monorepo');
    mkdirSync(join(repo, '.git'), { recursive: true });
    const app = writeFiles(join(repo, 'apps', 'web'), {
      '.devcontainer/devcontainer.json': '{ "image": "a", "postCreateCommand": "cd ${containerWorkspaceFolder}" }',
    });
    const project = loadProject({ workspaceFolder: app, hostEnv });
    expect(project.workspaceMount).toEqual({ type: 'bind', source: repo, target: '/workspaces/monorepo' });
    expect(project.containerWorkspaceFolder).toBe('/workspaces/monorepo/apps/web');
    expect(project.config.postCreateCommand).toBe('cd /workspaces/monorepo/apps/web');
    expect(project.idLabels['devcontainer.local_folder']).toBe(app);

    const alone = loadProject({ workspaceFolder: app, hostEnv, mountWorkspaceGitRoot: false });
    expect(alone.workspaceMount).toEqual({ type: 'bind', source: app, target: '/workspaces/web' });
    expect(alone.containerWorkspaceFolder).toBe('/workspaces/web');
  });

  it('takes workspaceFolder from the config (substituted first) and still mounts by default', () => {
    const root = projectWith({
      image: 'a',
      workspaceFolder: '/src/${localWorkspaceFolderBasename}',
      postStartCommand: ['ls', '${containerWorkspaceFolder}', '${containerWorkspaceFolderBasename}'],
    });
    const project = loadProject({ workspaceFolder: root, hostEnv });
    expect(project.containerWorkspaceFolder).toBe('/src/proj');
    expect(project.config.workspaceFolder).toBe('/src/proj');
    expect(project.config.postStartCommand).toEqual(['ls', '/src/proj', 'proj']);
    expect(project.workspaceMount).toEqual({ type: 'bind', source: root, target: '/workspaces/proj' });
  });

  it('parses workspaceMount after substitution', () => {
    const root = projectWith({
      image: 'a',
      workspaceMount: 'source=${localWorkspaceFolder},target=/work/${devcontainerId},type=bind,consistency=cached',
      workspaceFolder: '/work/${devcontainerId}',
    });
    const project = loadProject({ workspaceFolder: root, hostEnv });
    expect(project.workspaceMount).toEqual({ type: 'bind', source: root, target: `/work/${project.devcontainerId}` });
    expect(project.containerWorkspaceFolder).toBe(`/work/${project.devcontainerId}`);
  });

  it('accepts a volume as workspace mount', () => {
    const root = projectWith({ image: 'a', workspaceMount: 'type=volume,source=ws,target=/ws', workspaceFolder: '/ws' });
    expect(loadProject({ workspaceFolder: root, hostEnv }).workspaceMount).toEqual({ type: 'volume', source: 'ws', target: '/ws' });
  });

  it.each([
    [{ image: 'a', workspaceMount: 'type=bind,source=rel,target=/w', workspaceFolder: '/w' }, ':3: `workspaceMount`: the bind mount\'s source `rel` must be an absolute path'],
    [{ image: 'a', workspaceMount: '', workspaceFolder: '/w' }, ':3: `workspaceMount`: an empty workspace mount (no mount at all) is not supported yet'],
    [{ image: 'a', workspaceMount: 'type=bind,source=/x', workspaceFolder: '/w' }, ':3: `workspaceMount`: invalid mount `type=bind,source=/x`: needs `target`'],
    [{ image: 'a', workspaceFolder: 'relative' }, ':3: `workspaceFolder` must be an absolute path in the container (got `relative`)'],
    [{ image: 'a', workspaceFolder: '' }, ':3: `workspaceFolder` must be an absolute path in the container (got ``)'],
    [{ image: 'a', mounts: ['type=volume,target=/ok', 'type=bind,target=/x'] }, ':3: `mounts[1]`: invalid mount `type=bind,target=/x`: type `bind` needs `source`'],
  ])('rejects %j naming the file and property', (config, problem) => {
    const root = projectWith(config);
    const error = thrown(() => loadProject({ workspaceFolder: root, hostEnv }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(`${join(root, '.devcontainer/devcontainer.json')}${problem}`);
    expect(error.hint).toBeDefined();
  });

  it('names config files below the current directory relatively', () => {
    const root = copyFixture('syntax-error');
    const cwd = process.cwd();
    try {
      process.chdir(root);
      const error = thrown(() => loadProject({ workspaceFolder: '.', hostEnv }));
      expect(error.code).toBe('CONFIG_PARSE');
      expect(error.message).toBe(`.devcontainer/devcontainer.json:4:3: invalid character '\\"'`);
    } finally {
      process.chdir(cwd);
    }
    const error = thrown(() => loadProject({ workspaceFolder: root, hostEnv }));
    expect(error.message.startsWith(`${join(root, '.devcontainer/devcontainer.json')}:4:3: `)).toBe(true);
  });

  it('puts warnings in the result', () => {
    const root = projectWith({ image: 'a', imagee: 'b' });
    expect(loadProject({ workspaceFolder: root, hostEnv }).warnings).toEqual([
      `${join(root, '.devcontainer/devcontainer.json')}:3: unknown property \`imagee\` (ignored; did you mean \`image\`?)`,
    ]);
  });

  it('needs --config among several sub-folder configs, and takes it', () => {
    const root = copyFixture('subfolder-configs');
    expect(thrown(() => loadProject({ workspaceFolder: root, hostEnv })).code).toBe('CONFIG_AMBIGUOUS');
    const configFile = join(root, '.devcontainer/b/devcontainer.json');
    const project = loadProject({ workspaceFolder: root, hostEnv, configFile: relative(process.cwd(), configFile) });
    expect(project.configFile).toBe(configFile);
    expect(project.config.name).toBe('b');
    expect(project.idLabels['devcontainer.config_file']).toBe(configFile);
  });

  it('gives each config of a folder its own id', () => {
    const root = copyFixture('subfolder-configs');
    const a = loadProject({ workspaceFolder: root, hostEnv, configFile: join(root, '.devcontainer/a/devcontainer.json') });
    const b = loadProject({ workspaceFolder: root, hostEnv, configFile: join(root, '.devcontainer/b/devcontainer.json') });
    expect(a.devcontainerId).not.toBe(b.devcontainerId);
  });

  it('leaves Dockerfile paths relative and resolves them on request', () => {
    const root = copyFixture('dockerfile');
    const project = loadProject({ workspaceFolder: root, hostEnv: { DEVENV_TEST_VARIANT: 'trixie' } });
    expect(project.config.build).toEqual({ dockerfile: 'Dockerfile', context: '..', args: { VARIANT: 'trixie' } });
    expect(resolveConfigPath(project, project.config.build!.dockerfile!)).toBe(join(root, '.devcontainer/Dockerfile'));
    expect(resolveConfigPath(project, project.config.build!.context!)).toBe(root);
  });

  it('reports a missing workspace folder', () => {
    const missing = join(makeTempDir(), 'missing');
    const error = thrown(() => loadProject({ workspaceFolder: missing, hostEnv }));
    expect(error.code).toBe('WORKSPACE_NOT_FOUND');
    expect(error.message).toContain(missing);
    const file = join(makeTempDir(), 'file');
    writeFileSync(file, '');
    expect(thrown(() => loadProject({ workspaceFolder: file, hostEnv })).code).toBe('WORKSPACE_NOT_FOUND');
  });

  it('reports a folder without config', () => {
    const error = thrown(() => loadProject({ workspaceFolder: makeTempDir(), hostEnv }));
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.hint).toContain('devenv init');
  });

});
