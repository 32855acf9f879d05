import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseConfigText } from '../../../../src/devcontainer/config/parse-config.js';
import { FIXTURES, thrown } from './temp-dirs.js';

const FILE = 'devcontainer.json';

function parse(config: object | string) {
  return parseConfigText(FILE, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
}

function invalid(config: object | string): string {
  const error = thrown(() => parse(config));
  expect(error.code).toBe('CONFIG_INVALID');
  return error.message;
}

describe('parseConfigText: syntax', () => {
  it('accepts comments and trailing commas', () => {
    const text = readFileSync(join(FIXTURES, 'image-basic/.devcontainer/devcontainer.json'), 'utf8');
    const { config, warnings } = parseConfigText(FILE, text);
    expect(warnings).toEqual([]);
    expect(config.image).toBe('mcr.microsoft.com/devcontainers/base:bookworm');
    expect(config.remoteEnv).toEqual({ PATH: '${containerEnv:PATH}:/extra/bin', UNSET: null });
    expect(config.postAttachCommand).toEqual({ one: 'echo 1', two: ['echo', '2'] });
  });

  it('reports a syntax error as <file>:<line>:<column>: <what>', () => {
    const text = readFileSync(join(FIXTURES, 'syntax-error/.devcontainer/devcontainer.json'), 'utf8');
    const error = thrown(() => parseConfigText('x/devcontainer.json', text));
    expect(error.code).toBe('CONFIG_PARSE');
    expect(error.message).toBe(`x/devcontainer.json:4:3: invalid character '\\"'`); // json5's own wording
    expect(error.hint).toBeDefined();
  });

  it.each([
    ['', '1:1: invalid end of input'],
    ['{ "image": "a", ', '1:17: invalid end of input'],
    ['{\n  "image": "a" /* unterminated', '2:31: invalid end of input'],
  ])('reports %j', (text, where) => {
    expect(thrown(() => parse(text)).message).toBe(`${FILE}:${where}`);
  });

  it('requires an object', () => {
    expect(invalid('[]')).toBe(`${FILE}: must contain a JSON object`);
    expect(invalid('"image"')).toBe(`${FILE}: must contain a JSON object`);
  });
});

describe('parseConfigText: validation', () => {
  it('accepts every documented property', () => {
    const full = {
      name: 'n', image: 'i', build: { dockerfile: 'D', context: '..', args: { A: 'b' }, target: 't', cacheFrom: ['c'], options: ['--x'] },
      features: { 'ghcr.io/devcontainers/features/node:1': { version: 'lts' }, x: 'latest', y: true },
      overrideFeatureInstallOrder: ['x'], workspaceMount: 'type=bind,source=/a,target=/w', workspaceFolder: '/w',
      mounts: ['type=volume,target=/v', { type: 'volume', target: '/anon' }, { type: 'bind', source: '/s', target: '/t', readonly: true }, { type: 'tmpfs', target: '/tmp' }],
      containerEnv: { A: 'b' }, remoteEnv: { A: 'b', B: null }, containerUser: 'u', remoteUser: 'u', updateRemoteUserUID: false,
      userEnvProbe: 'loginInteractiveShell', init: true, privileged: false, capAdd: ['SYS_PTRACE'], securityOpt: ['seccomp=unconfined'],
      overrideCommand: true, shutdownAction: 'none',
      hostRequirements: { cpus: 2, memory: '4gb', storage: '32gb', gpu: 'optional' },
      forwardPorts: [3000, 'db:5432', 65535, 1], appPort: [8080, '127.0.0.1:9000:9000'],
      portsAttributes: { '3000': { label: 'app', protocol: 'https', onAutoForward: 'openBrowserOnce', requireLocalPort: true, elevateIfNeeded: false }, '40000-40010': {} },
      otherPortsAttributes: { onAutoForward: 'ignore' }, runArgs: ['--network=host'], waitFor: 'postStartCommand',
      customizations: { vscode: { extensions: ['a.b'] } }, secrets: { TOKEN: { documentationUrl: 'https://x' } },
      initializeCommand: 'echo', onCreateCommand: ['echo', 'x'], updateContentCommand: { a: 'x', b: ['y'] },
      postCreateCommand: 'x', postStartCommand: 'x', postAttachCommand: 'x',
    };
    const { config, warnings } = parse({ ...full, $schema: 'https://…' });
    expect(config).toEqual(full);
    expect(warnings).toEqual(['devcontainer.json:3: both `image` and a Dockerfile are set; the Dockerfile is used and `image` ignored']);
  });

  it.each([
    [{ image: 'a', containerEnv: { FOO: 5 } }, '`containerEnv.FOO` must be a string (got number)'],
    [{ image: 'a', remoteEnv: { FOO: 5 } }, '`remoteEnv.FOO` must be a string or null (got number)'],
    [{ image: 5 }, '`image` must be a string (got number)'],
    [{ image: '  ' }, '`image` must not be empty'],
    [{ image: 'a', name: ['x'] }, '`name` must be a string (got array)'],
    [{ image: 'a', init: 'yes' }, '`init` must be a boolean (got string)'],
    [{ image: 'a', runArgs: '--x' }, '`runArgs` must be an array of strings (got string)'],
    [{ image: 'a', capAdd: ['A', 1] }, '`capAdd[1]` must be a string (got number)'],
    [{ build: { dockerfile: 'D', args: { A: 1 } } }, '`build.args.A` must be a string (got number)'],
    [{ build: { dockerfile: 'D', cacheFrom: [1] } }, '`build.cacheFrom[0]` must be a string (got number)'],
    [{ build: { dockerfile: 3 } }, '`build.dockerfile` must be a string (got number)'],
    [{ image: 'a', postCreateCommand: 5 }, '`postCreateCommand` must be a command string, an array of strings, or an object of named commands (got number)'],
    [{ image: 'a', postCreateCommand: ['a', 1] }, '`postCreateCommand[1]` must be a string (got number)'],
    [{ image: 'a', postStartCommand: { a: 1 } }, '`postStartCommand.a` must be a string or an array of strings (got number)'],
    [{ image: 'a', postStartCommand: { a: [true] } }, '`postStartCommand.a[0]` must be a string (got boolean)'],
    [{ image: 'a', mounts: [{ type: 'nfs', target: '/x' }] }, '`mounts[0].type` must be one of `bind`, `volume`, `tmpfs` (got "nfs")'],
    [{ image: 'a', mounts: [{ type: 'volume' }] }, '`mounts[0]` needs `target`'],
    [{ image: 'a', mounts: [{ type: 'bind', target: '/x' }] }, '`mounts[0]` needs `source` (type `bind`)'],
    [{ image: 'a', mounts: [5] }, '`mounts[0]` must be a mount string or a mount object (got number)'],
    [{ image: 'a', forwardPorts: [0] }, '`forwardPorts[0]` must be a port number from 1 to 65535 or "host:port" (got 0)'],
    [{ image: 'a', forwardPorts: [70000] }, '`forwardPorts[0]` must be a port number from 1 to 65535 or "host:port" (got 70000)'],
    [{ image: 'a', forwardPorts: [3000.5] }, '`forwardPorts[0]` must be a port number from 1 to 65535 or "host:port" (got 3000.5)'],
    [{ image: 'a', forwardPorts: ['db:65536'] }, '`forwardPorts[0]` must be a port number from 1 to 65535 or "host:port" (got "db:65536")'],
    [{ image: 'a', forwardPorts: ['DB:5432'] }, '`forwardPorts[0]` must be a port number from 1 to 65535 or "host:port" (got "DB:5432")'],
    [{ image: 'a', forwardPorts: ['localhost'] }, '`forwardPorts[0]` must be a port number from 1 to 65535 or "host:port" (got "localhost")'],
    [{ image: 'a', portsAttributes: { '3000': { protocol: 'ftp' } } }, '`portsAttributes["3000"].protocol` must be one of `http`, `https` (got "ftp")'],
    [{ image: 'a', hostRequirements: { cpus: 0 } }, '`hostRequirements.cpus` must be an integer 1 or more (got 0)'],
    [{ image: 'a', hostRequirements: { memory: '4GiB' } }, '`hostRequirements.memory` must be a size like "8gb" or "512mb" (got "4GiB")'],
    [{ image: 'a', hostRequirements: { gpu: 'yes' } }, '`hostRequirements.gpu` must be `true`, `false`, `"optional"` or an object (got "yes")'],
    [{ image: 'a', hostRequirements: { gpu: { cores: 'x' } } }, '`hostRequirements.gpu.cores` must be an integer 1 or more (got string)'],
    [{ image: 'a', waitFor: 'postCreate' }, '`waitFor` must be one of `initializeCommand`, `onCreateCommand`, `updateContentCommand`, `postCreateCommand`, `postStartCommand`, `postAttachCommand` (got "postCreate")'],
    [{ image: 'a', userEnvProbe: 'bash' }, '`userEnvProbe` must be one of `none`, `interactiveShell`, `loginShell`, `loginInteractiveShell` (got "bash")'],
    [{ image: 'a', shutdownAction: 'stopCompose' }, '`shutdownAction` must be one of `none`, `stopContainer` (got "stopCompose")'],
    [{ image: 'a', features: [] }, '`features` must be an object (got array)'],
    [{ image: 'a', secrets: { T: { documentationUrl: 1 } } }, '`secrets.T.documentationUrl` must be a string (got number)'],
    [{ image: 'a', workspaceMount: 'type=bind,source=/a,target=/w' }, '`workspaceMount` needs `workspaceFolder` too (the spec requires both when the mount is set)'],
  ])('rejects %j', (config, problem) => {
    expect(invalid(config)).toMatch(new RegExp(`^${FILE}:\\d+: `));
    expect(invalid(config).replace(/^[^ ]+ /, '')).toBe(problem);
  });

  it('names the line of the offending property', () => {
    const text = readFileSync(join(FIXTURES, 'invalid-type/.devcontainer/devcontainer.json'), 'utf8');
    const error = thrown(() => parseConfigText('invalid-type/devcontainer.json', text));
    expect(error.message).toBe('invalid-type/devcontainer.json:5: `containerEnv.FOO` must be a string (got number)');
    expect(error.hint).toContain('containers.dev');
  });

  it('requires image or a Dockerfile, with a hint', () => {
    const error = thrown(() => parse({ name: 'x', build: { context: '.' } }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(`${FILE}: needs \`image\` or \`build.dockerfile\``);
    expect(error.hint).toContain('"image"');
    expect(parse({ dockerFile: 'Dockerfile' }).config.dockerFile).toBe('Dockerfile');
  });

  it('rejects Docker Compose configs as not supported yet', () => {
    const error = thrown(() => parse({ dockerComposeFile: 'compose.yml', service: 'app', workspaceFolder: '/w' }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(`${FILE}:2: \`dockerComposeFile\` Docker Compose configs are not supported yet`);
  });
});

describe('parseConfigText: warnings', () => {
  it('warns about unknown properties, suggesting close names, and drops them', () => {
    const { config, warnings } = parse({ imagee: 'x', image: 'a', forwardedPorts: [1], dockerfile: 'D', zzz: 1, service: 'app' });
    expect(config).toEqual({ image: 'a' });
    expect(warnings).toEqual([
      'devcontainer.json:2: unknown property `imagee` (ignored; did you mean `image`?)',
      'devcontainer.json:4: unknown property `forwardedPorts` (ignored; did you mean `forwardPorts`?)',
      'devcontainer.json:7: unknown property `dockerfile` (ignored; did you mean `dockerFile`?)',
      'devcontainer.json:8: unknown property `zzz` (ignored)',
      'devcontainer.json:9: `service` is only used with `dockerComposeFile` (ignored)',
    ]);
  });

  it('warns about unknown nested properties', () => {
    const { warnings } = parse({ image: 'a', build: { dockerfile: 'D', contxt: '.' }, hostRequirements: { gpus: true } });
    expect(warnings).toContain('devcontainer.json:5: unknown property `build.contxt` (ignored; did you mean `context`?)');
    expect(warnings).toContain('devcontainer.json:8: unknown property `hostRequirements.gpus` (ignored; did you mean `gpu`?)');
  });

  it('drops waitFor: initializeCommand with a warning', () => {
    const { config, warnings } = parse({ image: 'a', waitFor: 'initializeCommand' });
    expect(config.waitFor).toBeUndefined();
    expect(warnings).toHaveLength(1);
  });

  it('moves the old VS Code properties into customizations.vscode as the CLI does', () => {
    const { config, warnings } = parse({
      image: 'a',
      extensions: ['b.c'],
      settings: { 'a.b': 1, keep: 2 },
      devPort: 8000,
      customizations: { vscode: { extensions: ['x.y'], settings: { keep: 3 } } },
    });
    expect(warnings).toEqual([]);
    expect(config.customizations).toEqual({
      vscode: { extensions: ['x.y', 'b.c'], settings: { 'a.b': 1, keep: 3 }, devPort: 8000 },
    });
  });
});
