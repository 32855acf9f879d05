import { describe, expect, it } from 'vitest';

import { translateRunArgs } from '../../../src/devcontainer/config/run-args.js';
import { DevenvError } from '../../../src/errors.js';
import { thrownDevenvError as thrown } from '../../support/devenv-error.js';

describe('translateRunArgs', () => {
  it('gives empty options and no warnings for no runArgs', () => {
    expect(translateRunArgs([])).toEqual({
      options: {
        env: [], envFiles: [], capAdd: [], capDrop: [], securityOpt: [], addHosts: [], publish: [], devices: [],
        privileged: false, readOnly: false, labels: [], volumes: [], mounts: [], ulimits: [],
      },
      warnings: [],
    });
  });

  it('reads every supported flag in the separate-value form', () => {
    const { options, warnings } = translateRunArgs([
      '--env', 'A=1', '--cap-add', 'SYS_PTRACE', '--cap-drop', 'NET_RAW', '--memory', '4g', '--cpus', '2',
      '--hostname', 'dev', '--network', 'host', '--user', '1000:1000', '--add-host', 'db:10.0.0.2',
      '--device', '/dev/fuse', '--security-opt', 'seccomp=unconfined', '--name', 'box', '--label', 'k=v',
      '--volume', '/a:/b', '--mount', 'type=tmpfs,target=/t', '--pids-limit', '512', '--ulimit', 'nofile=1024:2048',
      '--workdir', '/w', '--userns', 'keep-id', '--shm-size', '1g', '--env-file', '.env', '--privileged', '--init', '--read-only',
      '--publish', '8080:80',
    ]);
    expect(warnings).toEqual([]);
    expect(options).toEqual({
      env: ['A=1'], envFiles: ['.env'], capAdd: ['SYS_PTRACE'], capDrop: ['NET_RAW'], securityOpt: ['seccomp=unconfined'],
      memory: '4g', cpus: '2', hostname: 'dev', network: 'host', user: '1000:1000', addHosts: ['db:10.0.0.2'], publish: ['8080:80'],
      devices: ['/dev/fuse'], privileged: true, init: true, readOnly: true, name: 'box', labels: ['k=v'], volumes: ['/a:/b'],
      mounts: ['type=tmpfs,target=/t'], pidsLimit: '512', ulimits: ['nofile=1024:2048'], workdir: '/w', userns: 'keep-id', shmSize: '1g',
    });
  });

  it('reads the --flag=value form, keeping `=` inside the value', () => {
    const { options } = translateRunArgs(['--env=A=1=2', '--memory=512m', '--net=none', '--security-opt=label=disable', '--mount=type=bind,source=/a,target=/b']);
    expect(options.env).toEqual(['A=1=2']);
    expect(options.memory).toBe('512m');
    expect(options.network).toBe('none');
    expect(options.securityOpt).toEqual(['label=disable']);
    expect(options.mounts).toEqual(['type=bind,source=/a,target=/b']);
  });

  it('reads short flags: separate, attached, with `=`, and bundled', () => {
    const { options, warnings } = translateRunArgs(['-e', 'A=1', '-eB=2', '-e=C=3', '-m4g', '-h', 'x', '-u', 'root', '-l', 'a=b', '-v', '/x:/y', '-w', '/src', '-ite', 'D=4']);
    expect(options.env).toEqual(['A=1', 'B=2', 'C=3', 'D=4']);
    expect(options).toMatchObject({ memory: '4g', hostname: 'x', user: 'root', labels: ['a=b'], volumes: ['/x:/y'], workdir: '/src' });
    expect(warnings).toEqual([
      'runArgs: `-i` is not supported by devenv and was ignored',
      'runArgs: `-t` is not supported by devenv and was ignored',
    ]);
  });

  it('reads booleans with =true and =false, the last one winning', () => {
    expect(translateRunArgs(['--privileged', '--privileged=false']).options.privileged).toBe(false);
    expect(translateRunArgs(['--init=false']).options.init).toBe(false);
    expect(translateRunArgs(['--init=true']).options.init).toBe(true);
    expect(translateRunArgs(['--read-only=1']).options.readOnly).toBe(true);
    expect(translateRunArgs([]).options.init).toBeUndefined();
  });

  it('rejects a boolean with a value that is not true or false', () => {
    const error = thrown(() => translateRunArgs(['--init', '--privileged=yes']));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe('runArgs[1]: `--privileged` takes true or false, not `yes`');
  });

  it('keeps list flags in order and the last of single-value flags', () => {
    const { options } = translateRunArgs(['-e', 'A=1', '--memory', '1g', '--env', 'B=2', '-m', '2g']);
    expect(options.env).toEqual(['A=1', 'B=2']);
    expect(options.memory).toBe('2g');
  });

  it('warns once per unsupported flag and skips the value of known value-taking flags', () => {
    const { options, warnings } = translateRunArgs(['--gpus', 'all', '--env', 'A=1', '-P', '--dns=1.1.1.1', '--rm', '--tmpfs', '/run']);
    expect(options.env).toEqual(['A=1']);
    expect(warnings).toEqual([
      'runArgs: `--gpus` is not supported by devenv and was ignored',
      'runArgs: `-P` is not supported by devenv and was ignored (use forwardPorts or appPort in devcontainer.json)',
      'runArgs: `--dns` is not supported by devenv and was ignored',
      'runArgs: `--rm` is not supported by devenv and was ignored',
      'runArgs: `--tmpfs` is not supported by devenv and was ignored',
    ]);
  });

  it('does not let the value of an ignored flag be read as a flag', () => {
    const { options, warnings } = translateRunArgs(['--health-cmd', '--privileged', '--init']);
    expect(options.privileged).toBe(false);
    expect(options.init).toBe(true);
    expect(warnings).toHaveLength(1);
  });

  it('does not take the next word as the value of an ignored boolean flag', () => {
    const { warnings } = translateRunArgs(['--rm', 'stray']);
    expect(warnings).toEqual(['runArgs: `--rm` is not supported by devenv and was ignored', 'runArgs: `stray` is not a flag and was ignored']);
  });

  it('takes a non-flag word after a flag Docker does not have as its value', () => {
    const { options, warnings } = translateRunArgs(['--frobnicate', 'on', '--cpus', '1']);
    expect(options.cpus).toBe('1');
    expect(warnings).toEqual(['runArgs: `--frobnicate` is not supported by devenv and was ignored']);
  });

  it('names runArgs[i] when a supported flag has no value', () => {
    const error = thrown(() => translateRunArgs(['--init', '--memory']));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe('runArgs[1]: `--memory` needs a value');
    expect(thrown(() => translateRunArgs(['-e'])).message).toBe('runArgs[0]: `-e` needs a value');
  });

  it('reads -p and --publish in every form, keeping their order', () => {
    const { options, warnings } = translateRunArgs(['-p', '8080:80', '-p3000', '--publish=127.0.0.1::9000/udp', '--publish', '4000-4001:5000-5001']);
    expect(warnings).toEqual([]);
    expect(options.publish).toEqual(['8080:80', '3000', '127.0.0.1::9000/udp', '4000-4001:5000-5001']);
    expect(thrown(() => translateRunArgs(['--publish'])).message).toBe('runArgs[0]: `--publish` needs a value');
  });

  it('reads the rest of a bundle after a value-taking letter as its value, as Docker does', () => {
    const { options, warnings } = translateRunArgs(['-et', 'x']);
    expect(options.env).toEqual(['t']);
    expect(warnings).toEqual(['runArgs: `x` is not a flag and was ignored']);
  });
});
