/** The activity-bar tree: environments from `devenv ps --json`, their forwarded ports as children. */
import * as vscode from 'vscode';

import type { DevenvCli } from './devenv-cli';
import { describeEnvironment, describePort, isRunning, type Environment } from './environments';

/** A node of the tree: an environment, one of its ports, or a message (an error, "no devenv"). */
export type EnvironmentNode =
  | { kind: 'environment'; env: Environment }
  | { kind: 'port'; env: Environment; port: number | string }
  | { kind: 'message'; text: string; detail?: string };

export class EnvironmentsProvider implements vscode.TreeDataProvider<EnvironmentNode> {
  private readonly changed = new vscode.EventEmitter<EnvironmentNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** The last list, for commands invoked without an argument. */
  environments: Environment[] = [];

  constructor(
    private readonly cli: DevenvCli,
    private readonly log: (line: string) => void,
  ) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: EnvironmentNode): Promise<EnvironmentNode[]> {
    if (node?.kind === 'environment') return node.env.ports.map((port) => ({ kind: 'port', env: node.env, port }));
    if (node) return [];
    try {
      this.environments = await this.cli.listEnvironments();
    } catch (error) {
      this.log(`devenv ps failed: ${(error as Error).message}`);
      return [{ kind: 'message', text: 'devenv ps failed', detail: (error as Error).message }];
    }
    return this.environments.map((env) => ({ kind: 'environment', env }));
  }

  getTreeItem(node: EnvironmentNode): vscode.TreeItem {
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon('warning');
      if (node.detail) {
        item.description = node.detail;
        item.tooltip = node.detail;
      }
      return item;
    }
    if (node.kind === 'port') {
      const port = describePort(node.port);
      const item = new vscode.TreeItem(`Port ${port.label}`, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon('plug');
      item.contextValue = 'port';
      if (port.hostPort !== undefined) {
        item.description = `localhost:${port.hostPort}`;
        item.command = { command: 'vscode.open', title: 'Open in Browser', arguments: [vscode.Uri.parse(`http://localhost:${port.hostPort}`)] };
      }
      return item;
    }
    const { env } = node;
    const running = isRunning(env);
    const item = new vscode.TreeItem(env.name, env.ports.length > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = env.containerId || env.name;
    item.description = describeEnvironment(env);
    item.iconPath = new vscode.ThemeIcon(running ? 'vm-running' : 'vm-outline', running ? new vscode.ThemeColor('charts.green') : undefined);
    item.contextValue = running ? 'environment-running' : 'environment-stopped';
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${env.name}** — ${env.status || env.state}\n\n`);
    tip.appendMarkdown(`- folder: \`${env.workspaceFolder}\`\n- config: \`${env.configFile}\`\n- image: \`${env.image}\`\n`);
    if (env.remoteUser) tip.appendMarkdown(`- remote user: \`${env.remoteUser}\`\n`);
    if (env.remoteWorkspaceFolder) tip.appendMarkdown(`- in the container: \`${env.remoteWorkspaceFolder}\`\n`);
    item.tooltip = tip;
    return item;
  }
}
