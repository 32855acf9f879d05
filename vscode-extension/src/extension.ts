/**
 * devenv for VS Code: "Reopen in Container" through Remote-SSH, with devenv as the SSH transport
 * (`devenv ssh --stdio`). Runs on the UI side (extensionKind ui first) where the devenv CLI is; in a window
 * connected to `ssh-remote+<name>.devenv` it applies the container's customizations.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import * as vscode from 'vscode';

import { applyRemoteSettings, installRemoteExtensions, readCustomizations } from './apply-customizations';
import { DevenvCli, DevenvCliError } from './devenv-cli';
import { findEnvironmentByName, findEnvironmentForFolder, isRunning, type Environment } from './environments';
import { EnvironmentsProvider, type EnvironmentNode } from './environments-view';
import { buildRemoteFolderUri, environmentOfAuthority } from './remote-uri';
import { openContainerTerminal } from './terminal';
import { logLineOf, progressMessageOf, type UpEvent } from './up-events';

const REMOTE_SSH_EXTENSIONS = ['ms-vscode-remote.remote-ssh', 'jeanp413.open-remote-ssh'];

/** Whether a local folder has a devcontainer.json where `devenv up` looks for one. */
export function hasDevcontainerConfig(folder: string): boolean {
  if (existsSync(join(folder, '.devcontainer', 'devcontainer.json')) || existsSync(join(folder, '.devcontainer.json'))) return true;
  try {
    return readdirSync(join(folder, '.devcontainer'), { withFileTypes: true }).some((d) => d.isDirectory() && existsSync(join(folder, '.devcontainer', d.name, 'devcontainer.json')));
  } catch {
    return false;
  }
}

class DevenvExtension {
  readonly output = vscode.window.createOutputChannel('devenv');
  readonly cli = new DevenvCli({
    path: () => vscode.workspace.getConfiguration('devenv').get<string>('path', 'devenv'),
    log: (line) => this.output.appendLine(line),
  });
  readonly view = new EnvironmentsProvider(this.cli, (l) => this.output.appendLine(l));
  readonly status = vscode.window.createStatusBarItem('devenv.status', vscode.StatusBarAlignment.Left, 10);
  /** The local project folder of this window (file scheme, with a devcontainer.json). */
  localFolder: string | undefined;
  /** The environment this window is connected to through Remote-SSH. */
  remoteEnvironment: string | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {}

  activate(): void {
    const folder = vscode.workspace.workspaceFolders?.[0];
    this.remoteEnvironment = vscode.env.remoteName === 'ssh-remote' ? environmentOfAuthority(folder?.uri.authority) : undefined;
    this.localFolder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file' && hasDevcontainerConfig(f.uri.fsPath))?.uri.fsPath;
    void vscode.commands.executeCommand('setContext', 'devenv.hasConfig', this.localFolder !== undefined || this.remoteEnvironment !== undefined);
    void vscode.commands.executeCommand('setContext', 'devenv.inContainer', this.remoteEnvironment !== undefined);

    const reg = (id: string, fn: (...args: never[]) => unknown): void => {
      this.context.subscriptions.push(vscode.commands.registerCommand(id, (...args: never[]) => this.guard(() => fn(...args))));
    };
    reg('devenv.reopenInContainer', () => this.reopenInContainer(false));
    reg('devenv.rebuildAndReopen', () => this.reopenInContainer(true));
    reg('devenv.reopenLocally', () => this.reopenLocally());
    reg('devenv.stop', (node?: EnvironmentNode) => this.stop(node));
    reg('devenv.showLog', (node?: EnvironmentNode) => this.showLog(node));
    reg('devenv.openTerminal', (node?: EnvironmentNode) => this.openTerminal(node));
    reg('devenv.refresh', () => this.view.refresh());
    reg('devenv.showRemoteMenu', () => this.showRemoteMenu());

    const tree = vscode.window.createTreeView('devenv.environments', { treeDataProvider: this.view, showCollapseAll: false });
    this.context.subscriptions.push(this.output, this.status, tree, tree.onDidChangeVisibility((e) => e.visible && this.view.refresh()));
    this.context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('devenv.path') && this.view.refresh()));

    this.updateStatus();
    if (this.remoteEnvironment !== undefined) void this.guard(() => this.applyCustomizationsInRemoteWindow(this.remoteEnvironment!));
    else if (this.localFolder !== undefined) void this.promptToReopen();
  }

  private updateStatus(): void {
    if (this.remoteEnvironment !== undefined) {
      this.status.text = `$(vm) devenv: ${this.remoteEnvironment}`;
      this.status.tooltip = 'devenv: actions for this container';
      this.status.command = 'devenv.showRemoteMenu';
      this.status.show();
    } else if (this.localFolder !== undefined) {
      this.status.text = '$(remote) devenv: Reopen in Container';
      this.status.tooltip = 'Reopen this folder in its dev container (devenv)';
      this.status.command = 'devenv.reopenInContainer';
      this.status.show();
    } else this.status.hide();
  }

  private async promptToReopen(): Promise<void> {
    const key = 'devenv.promptDismissed';
    if (!vscode.workspace.getConfiguration('devenv').get<boolean>('promptToReopen', true) || this.context.workspaceState.get<boolean>(key)) return;
    const reopen = 'Reopen in Container';
    const never = "Don't Show Again";
    const choice = await vscode.window.showInformationMessage('Folder contains a Dev Container configuration file. Reopen folder to develop in a container (devenv)?', reopen, never);
    if (choice === reopen) await this.guard(() => this.reopenInContainer(false));
    else if (choice === never) await this.context.workspaceState.update(key, true);
  }

  /** Errors from any command end here: a notification with the CLI's hint, and the log. */
  private async guard(fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (error) {
      const message = error instanceof DevenvCliError ? error.message : `${(error as Error).message ?? error}`;
      this.output.appendLine(`error: ${message}`);
      const choice = await vscode.window.showErrorMessage(`devenv: ${message}`, 'Show Log');
      if (choice === 'Show Log') this.output.show(true);
    }
  }

  /** The host folder of this window's project (also from inside a connected window, through `devenv ps`). */
  private async projectFolder(): Promise<string> {
    if (this.localFolder !== undefined) return this.localFolder;
    if (this.remoteEnvironment !== undefined) {
      const env = findEnvironmentByName(await this.cli.listEnvironments(), this.remoteEnvironment);
      if (env) return env.workspaceFolder;
    }
    throw new Error('this window has no folder with a .devcontainer/devcontainer.json or .devcontainer.json');
  }

  private async target(node?: EnvironmentNode): Promise<Environment | { workspaceFolder: string; name: string }> {
    if (node && node.kind !== 'message') return node.env;
    const folder = await this.projectFolder();
    const env = findEnvironmentForFolder(await this.cli.listEnvironments(), folder);
    return env ?? { workspaceFolder: folder, name: folder.split('/').pop() ?? folder };
  }

  async reopenInContainer(rebuild: boolean): Promise<void> {
    const folder = await this.projectFolder();
    this.output.appendLine(`== ${rebuild ? 'Rebuild and reopen' : 'Reopen'} ${folder} in its container`);
    const onEvent = (report: (m: string) => void) => (event: UpEvent) => {
      const line = logLineOf(event);
      if (line !== undefined) this.output.appendLine(line);
      const message = progressMessageOf(event);
      if (message !== undefined) report(message);
      if (event.type === 'warning') void vscode.window.showWarningMessage(`devenv: ${event.message}`);
    };
    let uri: string;
    let name: string;
    if (!rebuild && (await this.cli.hasCommand('open'))) {
      // `devenv open`: up, the `<name>.devenv` ssh-config entry and the URI in one go
      const opened = await this.withUpProgress('Opening in container', (signal, report) => this.cli.open(folder, { signal, onEvent: onEvent(report) }));
      uri = opened.uri;
      name = opened.host.replace(/\.devenv$/, '');
    } else {
      const result = await this.withUpProgress(rebuild ? 'Rebuilding container' : 'Starting container', (signal, report) =>
        this.cli.up(folder, { rebuild, signal, onEvent: onEvent(report) }),
      );
      if (await this.cli.hasCommand('ssh-config')) {
        const out = await this.cli.run(['ssh-config', '--json']);
        if (out.code !== 0) this.output.appendLine(`devenv ssh-config exited with code ${out.code}`);
      }
      uri = buildRemoteFolderUri(result.containerName, result.remoteWorkspaceFolder);
      name = result.containerName;
    }
    this.view.refresh();
    try {
      const custom = await readCustomizations(this.cli, folder);
      await applyRemoteSettings(this.cli, folder, custom.settings, (l) => this.output.appendLine(l));
    } catch (error) {
      this.output.appendLine(`customizations not applied: ${(error as Error).message}`);
    }
    if (!REMOTE_SSH_EXTENSIONS.some((id) => vscode.extensions.getExtension(id))) {
      void vscode.window.showWarningMessage(
        `devenv: the container ${name} runs, but Remote-SSH (ms-vscode-remote.remote-ssh or open-remote-ssh) is not installed to open ${uri}. ` +
          'Install it, or use "Open Terminal in Container".',
      );
      return;
    }
    this.output.appendLine(`opening ${uri}`);
    await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.parse(uri), { forceNewWindow: false });
  }

  private withUpProgress<T>(title: string, fn: (signal: AbortSignal, report: (m: string) => void) => Promise<T>): Thenable<T> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `devenv: ${title}`, cancellable: true }, (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return fn(abort.signal, (message) => progress.report({ message }));
    });
  }

  async reopenLocally(): Promise<void> {
    if (this.remoteEnvironment === undefined) {
      void vscode.window.showInformationMessage('devenv: this window is not connected to a devenv container.');
      return;
    }
    const folder = await this.projectFolder();
    await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(folder), { forceNewWindow: false });
  }

  async stop(node?: EnvironmentNode): Promise<void> {
    const env = await this.target(node);
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `devenv: stopping ${env.name}` }, () =>
      this.cli.project('stop', env.workspaceFolder),
    );
    this.view.refresh();
  }

  async showLog(node?: EnvironmentNode): Promise<void> {
    this.output.show(true);
    if (node === undefined && this.localFolder === undefined && this.remoteEnvironment === undefined) return;
    const env = await this.target(node);
    const out = await this.cli.project('logs', env.workspaceFolder, ['-n', '200']);
    this.output.appendLine(`== container output of ${env.name} (last 200 lines)`);
    this.output.append(out.stdout.endsWith('\n') || out.stdout === '' ? out.stdout : `${out.stdout}\n`);
  }

  async openTerminal(node?: EnvironmentNode): Promise<void> {
    const env = await this.target(node);
    if ('state' in env && !isRunning(env)) {
      const choice = await vscode.window.showWarningMessage(`devenv: ${env.name} is not running.`, 'Start it');
      if (choice !== 'Start it') return;
      await this.withUpProgress('Starting container', (signal) => this.cli.up(env.workspaceFolder, { signal, onEvent: (e) => { const l = logLineOf(e); if (l !== undefined) this.output.appendLine(l); } }));
      this.view.refresh();
    }
    openContainerTerminal(this.cli, env.workspaceFolder, env.name, (l) => this.output.appendLine(l));
  }

  async showRemoteMenu(): Promise<void> {
    const items: (vscode.QuickPickItem & { command: string })[] = [];
    if (this.remoteEnvironment === undefined) items.push({ label: '$(remote) Reopen in Container', command: 'devenv.reopenInContainer' });
    else items.push({ label: '$(folder) Reopen Folder Locally', command: 'devenv.reopenLocally' });
    items.push(
      { label: '$(refresh) Rebuild and Reopen in Container', command: 'devenv.rebuildAndReopen' },
      { label: '$(terminal) Open Terminal in Container', command: 'devenv.openTerminal' },
      { label: '$(debug-stop) Stop Container', command: 'devenv.stop' },
      { label: '$(output) Show Log', command: 'devenv.showLog' },
    );
    const pick = await vscode.window.showQuickPick(items, { placeHolder: 'devenv' });
    if (pick) await vscode.commands.executeCommand(pick.command);
  }

  private async applyCustomizationsInRemoteWindow(name: string): Promise<void> {
    const folder = await this.projectFolder();
    const custom = await readCustomizations(this.cli, folder);
    await applyRemoteSettings(this.cli, folder, custom.settings, (l) => this.output.appendLine(l));
    await installRemoteExtensions(this.context, name, custom.extensions, (l) => this.output.appendLine(l));
  }
}

export function activate(context: vscode.ExtensionContext): void {
  new DevenvExtension(context).activate();
}

export function deactivate(): void {
  // child processes end with their pipes; terminals close their own
}
