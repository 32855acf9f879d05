import { describe, expect, it } from 'vitest';

import { extensionsToInstall, extractVscodeCustomizations, mergeMachineSettings, serverDataDirFor, stripJsonc } from '../../../vscode-extension/src/customizations.js';

describe('extractVscodeCustomizations', () => {
  it('reads customizations.vscode of a plain configuration', () => {
    expect(extractVscodeCustomizations({
      configuration: { image: 'x', customizations: { vscode: { settings: { 'editor.tabSize': 2 }, extensions: ['ms-python.python', ' ', 3] } } },
    })).toEqual({ settings: { 'editor.tabSize': 2 }, extensions: ['ms-python.python'] });
  });

  it('merges the lists of a merged configuration: later settings win, extensions once, `-id` removes', () => {
    const out = extractVscodeCustomizations({
      configuration: { customizations: { vscode: { settings: { ignored: true } } } },
      mergedConfiguration: {
        customizations: {
          vscode: [
            { settings: { a: 1, b: 1 }, extensions: ['golang.go', 'ms-python.python', 'dbaeumer.vscode-eslint'] },
            { settings: { b: 2 }, extensions: ['MS-Python.python', '-dbaeumer.vscode-eslint'] },
          ],
        },
      },
    });
    expect(out).toEqual({ settings: { a: 1, b: 2 }, extensions: ['golang.go', 'ms-python.python'] });
  });

  it('gives nothing for configurations without customizations', () => {
    expect(extractVscodeCustomizations({ configuration: { image: 'x' } })).toEqual({ settings: {}, extensions: [] });
    expect(extractVscodeCustomizations(null)).toEqual({ settings: {}, extensions: [] });
    expect(extractVscodeCustomizations({ configuration: { customizations: { vscode: 'bad' } } })).toEqual({ settings: {}, extensions: [] });
  });
});

describe('mergeMachineSettings', () => {
  it('adds the settings to an empty or missing file', () => {
    expect(JSON.parse(mergeMachineSettings('', { 'editor.tabSize': 3 }))).toEqual({ 'editor.tabSize': 3 });
  });

  it("keeps the user's other settings; the container's win on conflicts", () => {
    const existing = '{\n  // mine\n  "files.eol": "\\n", "editor.tabSize": 8, /* x */ "url": "http://a//b",\n}';
    expect(JSON.parse(mergeMachineSettings(existing, { 'editor.tabSize': 3 }))).toEqual({ 'files.eol': '\n', 'editor.tabSize': 3, url: 'http://a//b' });
  });

  it('throws on a file that is not a JSON object (then it is left alone)', () => {
    expect(() => mergeMachineSettings('[1]', {})).toThrow();
    expect(() => mergeMachineSettings('{ nope', {})).toThrow();
  });

  it('strips comments but not comment-like text in strings', () => {
    expect(stripJsonc('{"a": "/* no */ // no", // yes\n "b": [1,2,], }')).toBe('{"a": "/* no */ // no", \n "b": [1,2] }');
    expect(JSON.parse(stripJsonc('{"a": "x,}", "b": "\\\\",}'))).toEqual({ a: 'x,}', b: '\\' });
  });
});

describe('server data folder and extensions to install', () => {
  it('follows the client', () => {
    expect(serverDataDirFor('vscode')).toBe('.vscode-server');
    expect(serverDataDirFor('vscode-insiders')).toBe('.vscode-server-insiders');
    expect(serverDataDirFor('vscodium')).toBe('.vscodium-server');
  });

  it('installs only what is missing', () => {
    expect(extensionsToInstall(['golang.go', 'ms-python.python@2024.1.0'], ['MS-Python.python'])).toEqual(['golang.go']);
  });
});
