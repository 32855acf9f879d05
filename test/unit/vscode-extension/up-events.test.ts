import { describe, expect, it } from 'vitest';

import { LineSplitter, logLineOf, parseCliResult, parseUpEvent, parseUpResult, progressMessageOf } from '../../../vscode-extension/src/up-events.js';

describe('parseUpEvent', () => {
  it('reads every event type of `devenv up --json`', () => {
    expect(parseUpEvent('{"type":"progress","message":"Creating container app-1"}')).toEqual({ type: 'progress', message: 'Creating container app-1' });
    expect(parseUpEvent('{"type":"warning","message":"config changed"}')).toEqual({ type: 'warning', message: 'config changed' });
    expect(parseUpEvent('{"type":"output","stream":"stderr","text":"npm WARN\\n"}')).toEqual({ type: 'output', stream: 'stderr', text: 'npm WARN\n' });
    expect(parseUpEvent('{"type":"hook","hook":"postCreateCommand","name":"deps","state":"finished","exitCode":0}')).toEqual({
      type: 'hook', hook: 'postCreateCommand', name: 'deps', state: 'finished', exitCode: 0,
    });
    expect(parseUpEvent('{"type":"ready"}')).toEqual({ type: 'ready' });
  });

  it('reads the pull events of `image pull --json`', () => {
    expect(parseUpEvent('{"type":"resolved","reference":"r/busybox:latest","manifestDigest":"sha256:aa","layers":1}')).toEqual({ type: 'resolved', reference: 'r/busybox:latest', layers: 1 });
    expect(parseUpEvent('{"type":"layer","digest":"sha256:4113","total":100,"done":50,"status":"downloading"}')).toEqual({
      type: 'layer', digest: 'sha256:4113', total: 100, done: 50, status: 'downloading',
    });
  });

  it('keeps unknown events and non-JSON lines instead of failing', () => {
    expect(parseUpEvent('{"type":"future","x":1}')).toEqual({ type: 'other', raw: { type: 'future', x: 1 } });
    expect(parseUpEvent('Error: boom')).toEqual({ type: 'text', text: 'Error: boom' });
    expect(parseUpEvent('[1,2]')).toEqual({ type: 'text', text: '[1,2]' });
    expect(parseUpEvent('   ')).toBeUndefined();
  });
});

describe('progress and log lines', () => {
  it('says what the notification shows', () => {
    expect(progressMessageOf({ type: 'progress', message: 'Starting container x' })).toBe('Starting container x');
    expect(progressMessageOf({ type: 'hook', hook: 'postCreateCommand', state: 'started' })).toBe('Running postCreateCommand');
    expect(progressMessageOf({ type: 'hook', hook: 'postCreateCommand', state: 'finished', exitCode: 0 })).toBeUndefined();
    expect(progressMessageOf({ type: 'resolved', reference: 'busybox', layers: 3 })).toBe('Pulling busybox (3 layers)');
    expect(progressMessageOf({ type: 'layer', digest: 'sha256:0123456789abcdef', total: 2 * 1024 * 1024, done: 1024 * 1024, status: 'downloading' })).toBe(
      'Layer 0123456789ab: downloading 1.0 MB / 2.0 MB',
    );
    expect(progressMessageOf({ type: 'output', stream: 'stdout', text: 'x' })).toBeUndefined();
  });

  it('logs hooks and output but not byte counts', () => {
    expect(logLineOf({ type: 'output', stream: 'stdout', text: 'hello\n' })).toBe('hello');
    expect(logLineOf({ type: 'hook', hook: 'onCreateCommand', state: 'failed', exitCode: 2 })).toBe('[onCreateCommand] failed (exit 2)');
    expect(logLineOf({ type: 'layer', digest: 'sha256:aa', total: 1, done: 0, status: 'downloading' })).toBeUndefined();
    expect(logLineOf({ type: 'warning', message: 'w' })).toBe('warning: w');
  });
});

describe('LineSplitter', () => {
  it('joins chunks into lines and flushes the rest at the end', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push('{"type":"pro');
    s.push('gress"}\r\n{"type":"ready"}\npartial');
    expect(lines).toEqual(['{"type":"progress"}', '{"type":"ready"}']);
    s.end();
    expect(lines).toEqual(['{"type":"progress"}', '{"type":"ready"}', 'partial']);
  });
});

describe('parseUpResult', () => {
  const ok = {
    outcome: 'success', containerId: 'abc', containerName: 'app-1', remoteUser: 'root', remoteWorkspaceFolder: '/workspaces/app',
    workspaceFolder: '/home/u/app', configFile: '/home/u/app/.devcontainer/devcontainer.json', action: 'created', configChanged: false,
  };

  it('returns the result of a successful up', () => {
    expect(parseUpResult(`${JSON.stringify(ok)}\n`, 0)).toEqual(ok);
  });

  it("returns the CLI's error object", () => {
    expect(parseUpResult('{"outcome":"error","code":"CONFIG_PARSE","message":"bad json","hint":"fix it"}', 1)).toEqual({
      outcome: 'error', code: 'CONFIG_PARSE', message: 'bad json', hint: 'fix it',
    });
  });

  it('makes an error when stdout holds no JSON, naming stderr\'s last plain line', () => {
    expect(parseUpResult('', 1, '{"type":"progress","message":"x"}\nSegmentation fault\n')).toEqual({ outcome: 'error', code: 'CLI_FAILED', message: 'Segmentation fault' });
    expect(parseUpResult('', 137)).toMatchObject({ outcome: 'error', message: 'devenv exited with code 137' });
  });

  it('refuses a success without containerName or remoteWorkspaceFolder', () => {
    expect(parseUpResult('{"outcome":"success","containerId":"x"}', 0)).toMatchObject({ outcome: 'error', code: 'CLI_PROTOCOL' });
  });

  it('finds the result on the last line when something printed before it', () => {
    expect(parseCliResult('noise\n{"a":1}', 0)).toEqual({ a: 1 });
  });
});
