/**
 * `customizations.vscode` for the container's VS Code server. Remote-SSH starts that server itself, so nothing
 * can be passed to it on its command line (the way the Dev Containers extension does). Instead:
 * - settings: merged into the server's *machine* settings (`~/.vscode-server/data/Machine/settings.json`, by
 *   the client's URI scheme) through `devenv exec` — before the window connects and again on every connected
 *   window (the server watches that file, so a change applies without a reload);
 * - extensions: once the window is connected, `workbench.extensions.installExtension` for each; VS Code installs
 *   a workspace extension on the remote server, where Remote-SSH has put it. Done once per environment and list.
 */
import * as vscode from 'vscode';

import { extractVscodeCustomizations, mergeMachineSettings, serverDataDirFor, type VscodeCustomizations } from './customizations';
import type { DevenvCli } from './devenv-cli';

export async function readCustomizations(cli: DevenvCli, workspaceFolder: string): Promise<VscodeCustomizations> {
  return extractVscodeCustomizations(await cli.readConfiguration(workspaceFolder));
}

/** Merge the settings into the server's machine settings in the container. */
export async function applyRemoteSettings(cli: DevenvCli, workspaceFolder: string, settings: Record<string, unknown>, log: (l: string) => void): Promise<void> {
  if (Object.keys(settings).length === 0) return;
  const dir = `$HOME/${serverDataDirFor(vscode.env.uriScheme)}/data/Machine`;
  const read = await cli.exec(workspaceFolder, ['sh', '-c', `cat "${dir}/settings.json" 2>/dev/null || true`]);
  if (read.code !== 0) throw new Error(`reading the machine settings in the container failed (exit ${read.code}): ${read.stderr.trim()}`);
  let merged: string;
  try {
    merged = mergeMachineSettings(read.stdout, settings);
  } catch (error) {
    log(`machine settings in the container are not JSON; left alone (${(error as Error).message})`);
    return;
  }
  const write = await cli.exec(workspaceFolder, ['sh', '-c', `mkdir -p "${dir}" && cat > "${dir}/settings.json.devenv" && mv "${dir}/settings.json.devenv" "${dir}/settings.json"`], merged);
  if (write.code !== 0) throw new Error(`writing the machine settings in the container failed (exit ${write.code}): ${write.stderr.trim()}`);
  log(`applied ${Object.keys(settings).length} setting(s) from customizations.vscode.settings`);
}

/** In a connected window: install the wanted extensions on the remote server, once per environment and list. */
export async function installRemoteExtensions(context: vscode.ExtensionContext, environment: string, extensions: readonly string[], log: (l: string) => void): Promise<void> {
  if (extensions.length === 0) return;
  const key = `devenv.installedExtensions.${environment}`;
  const done = context.globalState.get<string>(key);
  const wanted = [...extensions].sort().join(',');
  if (done === wanted) return;
  const failed: string[] = [];
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'devenv: installing extensions in the container' }, async (progress) => {
    for (const id of extensions) {
      progress.report({ message: id });
      try {
        await vscode.commands.executeCommand('workbench.extensions.installExtension', id);
        log(`installed ${id} in the container`);
      } catch (error) {
        failed.push(id);
        log(`installing ${id} failed: ${(error as Error).message}`);
      }
    }
  });
  if (failed.length === 0) await context.globalState.update(key, wanted);
  else void vscode.window.showWarningMessage(`devenv: could not install ${failed.join(', ')} in the container (see the devenv log).`);
}
