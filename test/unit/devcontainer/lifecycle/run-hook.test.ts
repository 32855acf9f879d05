import { spawn } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import {
  lifecycleCommandArgv,
  runLifecycleHook,
  type HookCommandIo,
  type HookCommandRunner,
  type HookEvent,
  type HookOutput,
} from '../../../../src/devcontainer/lifecycle/run-hook.js';
import { DevenvError } from '../../../../src/errors.js';

/** Records what the runner reports. */
function recorder(): HookOutput & { lines: string[]; events: HookEvent[] } {
  const lines: string[] = [];
  const events: HookEvent[] = [];
  return {
    lines,
    events,
    line: (text, stream) => lines.push(`${stream}: ${text}`),
    event: (e) => events.push(e),
  };
}

interface Script {
  stdout?: string[];
  stderr?: string[];
  exitCode?: number;
  /** Resolve only after this promise settles (to interleave parallel commands). */
  after?: Promise<unknown>;
  throws?: Error;
}

/** A fake runner: argv (joined by spaces) → scripted output and exit code; records every call. */
function fakeRunner(scripts: Record<string, Script>): HookCommandRunner & { calls: { argv: string[]; io: HookCommandIo }[] } {
  const calls: { argv: string[]; io: HookCommandIo }[] = [];
  const run = async (argv: string[], io: HookCommandIo): Promise<number> => {
    calls.push({ argv, io });
    const script = scripts[argv.join(' ')] ?? {};
    for (const chunk of script.stdout ?? []) io.onStdout(Buffer.from(chunk));
    for (const chunk of script.stderr ?? []) io.onStderr(Buffer.from(chunk));
    await script.after;
    if (script.throws) throw script.throws;
    return script.exitCode ?? 0;
  };
  return Object.assign(run, { calls });
}

async function rejection(promise: Promise<unknown>): Promise<DevenvError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DevenvError);
    return error as DevenvError;
  }
  throw new Error('expected a DevenvError');
}

describe('lifecycleCommandArgv', () => {
  it('runs strings through /bin/sh -c and arrays as they are', () => {
    expect(lifecycleCommandArgv('npm ci && npm test')).toEqual(['/bin/sh', '-c', 'npm ci && npm test']);
    expect(lifecycleCommandArgv(['npm', 'ci'])).toEqual(['npm', 'ci']);
  });
});

describe('runLifecycleHook', () => {
  it('does nothing for no commands or only empty ones', async () => {
    const out = recorder();
    const run = fakeRunner({});
    await runLifecycleHook('postCreateCommand', [], run, out);
    await runLifecycleHook('postCreateCommand', ['', '   ', [], {}, undefined], run, out);
    expect(run.calls).toEqual([]);
    expect(out.lines).toEqual([]);
    expect(out.events).toEqual([]);
  });

  it('runs a string with a shell and streams its output as lines', async () => {
    const out = recorder();
    const run = fakeRunner({ '/bin/sh -c echo hi': { stdout: ['h', 'i\nsecond li', 'ne\r\nno newline'], stderr: ['warn\n'] } });
    await runLifecycleHook('postCreateCommand', ['echo hi'], run, out);
    expect(run.calls[0]?.io.name).toBe('postCreateCommand');
    expect(out.lines).toEqual([
      'stdout: Running postCreateCommand…',
      'stdout: hi',
      'stdout: second line',
      'stderr: warn',
      'stdout: no newline',
    ]);
    expect(out.events).toEqual([
      { hook: 'postCreateCommand', state: 'started' },
      { hook: 'postCreateCommand', state: 'succeeded' },
    ]);
  });

  it('runs an array as argv without a shell', async () => {
    const run = fakeRunner({});
    await runLifecycleHook('onCreateCommand', [['make', 'setup', 'a b']], run, recorder());
    expect(run.calls.map((c) => c.argv)).toEqual([['make', 'setup', 'a b']]);
  });

  it('keeps multi-byte characters split across chunks whole', async () => {
    const out = recorder();
    const bytes = Buffer.from('größe ✓\n');
    const run: HookCommandRunner = async (_argv, io) => {
      for (const byte of bytes) io.onStdout(Buffer.from([byte]));
      return 0;
    };
    await runLifecycleHook('postStartCommand', ['x'], run, out);
    expect(out.lines).toContain('stdout: größe ✓');
  });

  it('runs the list in order and names each entry by origin when there are several', async () => {
    const out = recorder();
    const run = fakeRunner({});
    await runLifecycleHook('postCreateCommand', ['one', undefined, 'two', 'three'], run, out, {
      origins: ['image metadata', 'x', 'Feature `node`', 'devcontainer.json'],
    });
    expect(run.calls.map((c) => c.argv[2])).toEqual(['one', 'two', 'three']);
    expect(out.lines).toEqual([
      'stdout: Running postCreateCommand from image metadata…',
      'stdout: Running postCreateCommand from Feature `node`…',
      'stdout: Running postCreateCommand from devcontainer.json…',
    ]);
  });

  it('numbers the entries when their origins are unknown', async () => {
    const out = recorder();
    await runLifecycleHook('postCreateCommand', ['one', 'two'], fakeRunner({}), out);
    expect(out.lines).toEqual(['stdout: Running postCreateCommand (1 of 2)…', 'stdout: Running postCreateCommand (2 of 2)…']);
  });

  it('fails on a non-zero exit, naming the hook and the code, and runs no later entry', async () => {
    const out = recorder();
    const run = fakeRunner({ '/bin/sh -c bad': { exitCode: 3, stderr: ['oops'] } });
    const error = await rejection(runLifecycleHook('postCreateCommand', ['bad', 'after'], run, out));
    expect(error.code).toBe('LIFECYCLE_FAILED');
    expect(error.message).toBe('postCreateCommand failed with exit code 3');
    expect(error.exitCode).toBe(1);
    expect(error.hint).toContain('output above');
    expect(run.calls).toHaveLength(1);
    expect(out.lines).toContain('stderr: oops');
    expect(out.events.at(-1)).toEqual({ hook: 'postCreateCommand', state: 'failed', exitCode: 3 });
  });

  it('names the origin of the failing entry when there are several', async () => {
    const run = fakeRunner({ '/bin/sh -c b': { exitCode: 2 } });
    const error = await rejection(
      runLifecycleHook('postStartCommand', ['a', 'b'], run, recorder(), { origins: ['Feature `x`', 'devcontainer.json'] }),
    );
    expect(error.message).toBe('postStartCommand from devcontainer.json failed with exit code 2');
  });

  it('runs named commands in parallel, prefixing their lines', async () => {
    const out = recorder();
    let releaseA!: () => void;
    const aDone = new Promise<void>((resolve) => (releaseA = resolve));
    const run = fakeRunner({
      '/bin/sh -c a': { stdout: ['a1\na'], after: aDone },
      'b --x': { stdout: ['b1\n'], stderr: ['b2\n'] },
    });
    const running = runLifecycleHook('postCreateCommand', [{ first: 'a', second: ['b', '--x'] }], run, out);
    await new Promise((resolve) => setImmediate(resolve));
    // Both started before the first finished.
    expect(run.calls.map((c) => c.io.name)).toEqual(['postCreateCommand[first]', 'postCreateCommand[second]']);
    releaseA();
    await running;
    expect(out.lines).toEqual([
      'stdout: Running postCreateCommand…',
      'stdout: [first] a1',
      'stdout: [second] b1',
      'stderr: [second] b2',
      'stdout: [first] a',
    ]);
    expect(out.events).toEqual([
      { hook: 'postCreateCommand', state: 'started' },
      { hook: 'postCreateCommand', name: 'first', state: 'started' },
      { hook: 'postCreateCommand', name: 'second', state: 'started' },
      { hook: 'postCreateCommand', name: 'second', state: 'succeeded', exitCode: 0 },
      { hook: 'postCreateCommand', name: 'first', state: 'succeeded', exitCode: 0 },
      { hook: 'postCreateCommand', state: 'succeeded' },
    ]);
  });

  it('lets the other named commands finish when one fails, then names every failure', async () => {
    const out = recorder();
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const run = fakeRunner({
      '/bin/sh -c fail': { exitCode: 3 },
      '/bin/sh -c slow': { after: slow, stdout: ['done\n'] },
      '/bin/sh -c also': { exitCode: 1 },
    });
    const running = runLifecycleHook('postCreateCommand', [{ build: 'fail', watch: 'slow', lint: 'also' }, 'later'], run, out);
    setImmediate(release);
    const error = await rejection(running);
    expect(error.message).toBe('postCreateCommand `build` failed with exit code 3 (and `lint` with exit code 1)');
    expect(out.lines).toContain('stdout: [watch] done');
    expect(run.calls.map((c) => c.argv[2])).toEqual(['fail', 'slow', 'also']);
    expect(out.events).toContainEqual({ hook: 'postCreateCommand', name: 'build', state: 'failed', exitCode: 3 });
    expect(out.events.at(-1)).toEqual({ hook: 'postCreateCommand', state: 'failed', exitCode: 3 });
  });

  it('treats exit code 130 as interrupted and goes on, as the devcontainer CLI does', async () => {
    const out = recorder();
    const run = fakeRunner({ '/bin/sh -c a': { exitCode: 130 }, '/bin/sh -c n': { exitCode: 130 } });
    await runLifecycleHook('postCreateCommand', ['a', { x: 'n' }, 'b'], run, out);
    expect(run.calls).toHaveLength(3);
    expect(out.lines).toContain('stdout: postCreateCommand was interrupted (exit code 130); going on');
    expect(out.events).toContainEqual({ hook: 'postCreateCommand', name: 'x', state: 'interrupted', exitCode: 130 });
    expect(out.events.at(-1)).toEqual({ hook: 'postCreateCommand', state: 'succeeded' });
  });

  it('passes on an error of the runner itself, after the other named commands finished', async () => {
    const out = recorder();
    const broken = new DevenvError('CONTAINER_STATE', 'container is not running');
    const run = fakeRunner({ '/bin/sh -c x': { throws: broken }, '/bin/sh -c y': { exitCode: 4 } });
    await expect(runLifecycleHook('postCreateCommand', [{ x: 'x', y: 'y' }], run, out)).rejects.toBe(broken);
    expect(run.calls).toHaveLength(2);
    expect(out.events.at(-1)).toEqual({ hook: 'postCreateCommand', state: 'failed' });
  });

  it('stops when the caller cancels, passing the signal to the runner', async () => {
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    const run: HookCommandRunner = async (_argv, io) => {
      seen.push(io.signal);
      controller.abort();
      return 143;
    };
    const error = await rejection(runLifecycleHook('postCreateCommand', ['a', 'b'], run, recorder(), { signal: controller.signal }));
    expect(error.code).toBe('LIFECYCLE_FAILED');
    expect(error.message).toBe('postCreateCommand was cancelled');
    expect(seen).toEqual([controller.signal]);
  });

  it('rejects a command of the wrong shape', async () => {
    const error = await rejection(runLifecycleHook('postCreateCommand', [42 as unknown as string], fakeRunner({}), recorder()));
    expect(error.code).toBe('CONFIG_INVALID');
  });

  it('works with a runner that spawns real processes', async () => {
    const hostRunner: HookCommandRunner = (argv, io) =>
      new Promise((resolve, reject) => {
        const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.on('data', io.onStdout);
        child.stderr.on('data', io.onStderr);
        child.on('error', reject);
        child.on('close', (code) => resolve(code ?? 1));
      });
    const out = recorder();
    await runLifecycleHook('initializeCommand', ['printf "a\\nb"; echo err >&2'], hostRunner, out);
    // stdout and stderr are separate pipes: their relative order is not defined.
    expect(out.lines[0]).toBe('stdout: Running initializeCommand…');
    expect(out.lines.filter((l) => l.startsWith('stdout')).slice(1)).toEqual(['stdout: a', 'stdout: b']);
    expect(out.lines.filter((l) => l.startsWith('stderr'))).toEqual(['stderr: err']);
  });
});
