/**
 * The VS Code extension (vscode-extension/) in a real VS Code build: code-server 4.100.3 (VS Code 1.100.3, from
 * the npm registry, cached under /var/cache/devenv-test by vscode-extension/scripts/install-code-server.sh) driven
 * by Debian's headless Chromium through playwright-core. The extension is packaged with `npm run package` and
 * installed from its .vsix, and it runs the real bin/devenv against an environment `devenv up` made from the e2e
 * registry's busybox. No marketplace, no GitHub: code-server's gallery is never reached.
 *
 * Screenshots go to the test's temp folder; with DEVENV_UPDATE_SCREENSHOTS=1 they are copied to docs/images/
 * (docs/vscode-extension.md shows them).
 *
 * Needs (see docs/vscode-extension.md, "Testing"): apt `chromium ripgrep libkrb5-dev`, `npm install` in
 * vscode-extension/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';

import { DEVENV_BIN, REPO_ROOT } from '../support/devenv-cli.js';
import { devcontainerJson, makeProject } from '../support/project-fixture.js';
import { useSuite } from '../support/suite.js';

// playwright-core is a dev dependency of the extension, not of devenv: loaded from vscode-extension/node_modules,
// typed here by the little this test uses
interface Locator {
  first(): Locator;
  locator(selector: string, options?: { hasText?: string | RegExp }): Locator;
  waitFor(options?: { timeout?: number }): Promise<void>;
  innerText(): Promise<string>;
  allInnerTexts(): Promise<string[]>;
  count(): Promise<number>;
  click(): Promise<void>;
  hover(): Promise<void>;
  fill(value: string): Promise<void>;
}
interface Page {
  goto(url: string): Promise<unknown>;
  waitForSelector(selector: string, options?: { timeout?: number }): Promise<unknown>;
  locator(selector: string, options?: { hasText?: string | RegExp }): Locator;
  keyboard: { press(key: string): Promise<void>; type(text: string): Promise<void> };
  screenshot(options: { path: string }): Promise<unknown>;
}
interface Browser {
  newPage(options: { viewport: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}
interface Playwright {
  chromium: { launch(options: { executablePath: string; headless: boolean; args: string[] }): Promise<Browser> };
}

const EXT_DIR = join(REPO_ROOT, 'vscode-extension');
const CHROMIUM = process.env.DEVENV_CHROMIUM ?? '/usr/bin/chromium';
const DOCS_IMAGES = join(REPO_ROOT, 'docs', 'images');
const registry = inject('devenvE2eRegistry');

const COMMAND_TITLES = [
  'devenv: Reopen in Container',
  'devenv: Rebuild and Reopen in Container',
  'devenv: Reopen Folder Locally',
  'devenv: Stop Container',
  'devenv: Show Log',
  'devenv: Open Terminal in Container',
];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`code-server did not answer on ${url} within ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** The `devenv shell` processes (the terminal's) working on a project. */
function shellProcesses(project: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        return '';
      }
    })
    .filter((cmd) => cmd.includes(DEVENV_BIN) && cmd.includes(' shell ') && cmd.includes(project));
}

function run(command: string, args: string[], cwd: string, what: string, timeout = 600_000): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, input: '' });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal}):\n${r.stderr ?? ''}${r.stdout ?? ''}`);
  return r.stdout;
}

describe('VS Code extension in code-server (root)', () => {
  const s = useSuite('root', 'vscode');
  let project = '';
  let envName = '';
  let containerId = '';
  let shots = '';
  let failed = false;
  let server: ChildProcess | undefined;
  let serverLog = '';
  let browser: Browser | undefined;
  let page: Page;

  const shot = async (name: string): Promise<void> => {
    const path = join(shots, `vscode-${name}.png`);
    await page.screenshot({ path });
    if (process.env.DEVENV_UPDATE_SCREENSHOTS === '1') {
      mkdirSync(DOCS_IMAGES, { recursive: true });
      copyFileSync(path, join(DOCS_IMAGES, `vscode-${name}.png`));
    }
  };

  /** Run a command from the palette by its title. */
  const runCommand = async (title: string): Promise<void> => {
    const input = page.locator('.quick-input-widget input');
    // F1 can be swallowed while focus moves (a terminal that just closed): retry from the editor area
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press('Escape');
      await page.locator('.part.editor').first().click();
      await page.keyboard.press('F1');
      try {
        await input.waitFor({ timeout: 5_000 });
        break;
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
    await input.fill(`>${title}`);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 10_000 });
    await page.keyboard.press('Enter');
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set DEVENV_CHROMIUM)`);
    if (!existsSync(join(EXT_DIR, 'node_modules', 'playwright-core'))) throw new Error('vscode-extension/node_modules is missing: run `npm install` in vscode-extension/');
    const playwright = createRequire(join(EXT_DIR, 'package.json'))('playwright-core') as Playwright;

    // code-server (cached after the first run) and the extension's .vsix
    const entry = run('bash', [join(EXT_DIR, 'scripts', 'install-code-server.sh')], EXT_DIR, 'installing code-server').trim().split('\n').pop()!;
    run('npm', ['run', 'package'], EXT_DIR, 'npm run package in vscode-extension/', 120_000);
    const vsix = join(EXT_DIR, 'devenv-vscode.vsix');

    // a project, brought up by the real CLI
    project = makeProject(s.dir, 'vscode-proj', 'root', devcontainerJson({
      image: `${registry}/busybox:latest`,
      forwardPorts: [3000, 'db:5432'],
      customizations: { vscode: { settings: { 'editor.tabSize': 3 }, extensions: ['example.not-installed'] } },
    }));
    const up = s.run(['up', '--json', '--workspace-folder', project], { timeoutMs: 180_000 });
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    const result = JSON.parse(up.stdout) as { containerName: string; containerId: string };
    envName = result.containerName;
    containerId = result.containerId;

    // code-server with its own HOME, config and data (nothing under ~ changes), the extension installed from the vsix
    const cs = join(s.dir, 'code-server');
    // outside the suite's folder so that a failure's screenshot survives the clean-up
    shots = mkdtempSync(join(tmpdir(), 'devenv-vscode-screenshots-'));
    for (const d of ['home', 'data/User', 'extensions', 'xdg']) mkdirSync(join(cs, d), { recursive: true });
    writeFileSync(join(cs, 'data', 'User', 'settings.json'), JSON.stringify({
      'devenv.path': DEVENV_BIN,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'update.mode': 'none',
      // the DOM renderer keeps the terminal's text readable from the page
      'terminal.integrated.gpuAcceleration': 'off',
    }));
    const env = {
      ...process.env,
      HOME: join(cs, 'home'),
      XDG_CONFIG_HOME: join(cs, 'xdg'),
      XDG_CACHE_HOME: join(cs, 'xdg'),
      XDG_DATA_HOME: join(cs, 'xdg'),
      DEVENV_ROOT: s.root,
      NODE_EXTRA_CA_CERTS: '',
    };
    const common = ['--extensions-dir', join(cs, 'extensions'), '--user-data-dir', join(cs, 'data')];
    const install = spawnSync(process.execPath, [entry, ...common, '--install-extension', vsix], { env, encoding: 'utf8', timeout: 120_000 });
    expect(install.status, `${install.stdout}${install.stderr}`).toBe(0);
    expect(readdirSync(join(cs, 'extensions')).some((d) => d.startsWith('devenv.devenv-vscode-'))).toBe(true);

    const port = await freePort();
    server = spawn(process.execPath, [
      entry, ...common,
      '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
      '--disable-workspace-trust', '--disable-getting-started-override', project,
    ], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    server.stdout?.on('data', (d: Buffer) => (serverLog += d.toString()));
    server.stderr?.on('data', (d: Buffer) => (serverLog += d.toString()));
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000);

    browser = await playwright.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(project)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  });

  afterEach(async (context) => {
    // what the page showed when a step failed, next to the other screenshots
    if (context.task.result?.state !== 'fail' || !browser) return;
    failed = true;
    const path = join(shots, `failed-${context.task.name.replace(/\W+/g, '-')}.png`);
    await page.screenshot({ path }).catch(() => undefined);
    console.error(`screenshot of the failure: ${path}`);
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    if (server?.pid !== undefined && server.exitCode === null) {
      try {
        process.kill(-server.pid, 'SIGTERM'); // its process group: code-server, its extension host, their children
      } catch {
        // gone
      }
      await sleep(500);
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (project !== '') s.run(['down', '--workspace-folder', project], { timeoutMs: 60_000 });
    if (!failed && shots !== '') rmSync(shots, { recursive: true, force: true });
  });

  it('activates on a folder with a devcontainer.json: the status bar item', async () => {
    const item = page.locator('.statusbar-item', { hasText: 'devenv: Reopen in Container' }).first();
    await item.waitFor({ timeout: 60_000 }).catch((error: Error) => {
      throw new Error(`${error.message}\ncode-server log:\n${serverLog.slice(-4000)}`);
    });
  });

  it('offers "Reopen in Container" in a notification', async () => {
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Dev Container configuration file' }).first();
    await toast.waitFor({ timeout: 30_000 });
    await expect(toast.locator('.monaco-button', { hasText: 'Reopen in Container' }).count()).resolves.toBe(1);
    await shot('prompt');
    await toast.hover();
    await toast.locator('.codicon-notifications-clear, .codicon-close').first().click();
  });

  it('registers its commands', async () => {
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill('>devenv: ');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'devenv:' }).first().waitFor({ timeout: 10_000 });
    await sleep(300);
    const rows = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    const text = rows.join('\n');
    for (const title of COMMAND_TITLES) expect(text).toContain(title.replace('devenv: ', ''));
    await page.keyboard.press('Escape');
  });

  it('adds its actions to the remote indicator menu', async () => {
    await page.locator('#status\\.host, .statusbar-item.remote-kind').first().click();
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Reopen in Container' }).first();
    await row.waitFor({ timeout: 10_000 });
    await shot('remote-menu');
    await page.keyboard.press('Escape');
  });

  it('lists the running environment and its forwarded ports in its view', async () => {
    await page.locator('.activitybar .action-item a[aria-label^="devenv"]').first().click();
    const row = page.locator('.monaco-list-row', { hasText: envName }).first();
    await row.waitFor({ timeout: 30_000 });
    await expect(row.innerText()).resolves.toContain('Up');
    await page.locator('.monaco-list-row', { hasText: 'Port 3000' }).first().waitFor({ timeout: 10_000 });
    await page.locator('.monaco-list-row', { hasText: 'Port db:5432' }).first().waitFor({ timeout: 10_000 });
    await shot('environments');
  });

  it('opens a terminal in the container that runs commands', async () => {
    await runCommand('devenv: Open Terminal in Container');
    const rows = page.locator('.terminal-wrapper.active .xterm-rows').first();
    await rows.waitFor({ timeout: 20_000 });
    await expect.poll(() => rows.innerText(), { timeout: 30_000 }).toContain('/workspaces/vscode-proj');
    await page.locator('.terminal-wrapper.active .xterm').first().click();
    await page.keyboard.type('echo marker-$((6*7)) && touch made-in-terminal && id -un\n');
    await expect.poll(() => rows.innerText(), { timeout: 20_000 }).toMatch(/marker-42\s+root/);
    // the workspace is the project folder bind-mounted: the file shows up on the host
    await expect.poll(() => existsSync(join(project, 'made-in-terminal')), { timeout: 10_000 }).toBe(true);
    await shot('terminal');
    // `exit` ends the shell, then devenv: no `devenv shell` of this project is left
    await page.keyboard.type('exit\n');
    await expect.poll(() => shellProcesses(project), { timeout: 20_000 }).toEqual([]);
  });

  it('Reopen in Container brings the environment up (through `devenv open` when there is one) and names the folder it opens', async () => {
    await runCommand('devenv: Reopen in Container');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'is not installed' }).first();
    await toast.waitFor({ timeout: 120_000 });
    await expect(toast.innerText()).resolves.toContain(`vscode-remote://ssh-remote+${envName}.devenv/workspaces/vscode-proj`);
    await toast.hover();
    await toast.locator('.codicon-notifications-clear, .codicon-close').first().click();
    await expect.poll(() => toast.count(), { timeout: 5_000 }).toBe(0);
  });

  it('Rebuild and Reopen runs `devenv up --rebuild` and names the Remote-SSH folder it opens', async () => {
    await runCommand('devenv: Rebuild and Reopen in Container');
    // no Remote-SSH in code-server (no marketplace here): the extension says which URI it would open
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'is not installed' }).first();
    await toast.waitFor({ timeout: 120_000 });
    await expect(toast.innerText()).resolves.toContain(`ssh-remote+${envName}.devenv/workspaces/vscode-proj`);
    const ps = s.run(['ps', '--json']);
    const envs = JSON.parse(ps.stdout) as { name: string; containerId: string; state: string }[];
    const rebuilt = envs.find((e) => e.name === envName);
    expect(rebuilt?.state).toBe('running');
    expect(rebuilt?.containerId).not.toBe(containerId);
    // customizations.vscode.settings went to the VS Code server's machine settings in the container
    const settings = s.run(['exec', '--workspace-folder', project, 'cat', '/root/.vscode-server/data/Machine/settings.json']);
    expect(settings.code, settings.stderr).toBe(0);
    expect(JSON.parse(settings.stdout)).toEqual({ 'editor.tabSize': 3 });
  });
});
