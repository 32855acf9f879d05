/**
 * "Open Terminal in Container": a Pseudoterminal over `devenv shell -t` (remoteUser's login shell through
 * `devenv exec`). Our side has pipes, not a PTY (no node-pty, no native code); `-t` makes devenv allocate the PTY
 * *inside the container* anyway, so the container's line discipline does echo, line editing, ^C → SIGINT and
 * job control, and full-screen programs work. What pipes cannot carry is the window size: the container's PTY
 * keeps its default size (resizes are not forwarded; `stty cols N rows M` sets it by hand).
 */
import type { ChildProcess } from 'node:child_process';

import * as vscode from 'vscode';

import { terminalArgs, type DevenvCli } from './devenv-cli';

export class ContainerTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private child: ChildProcess | undefined;
  private closedByUser = false;
  /** After a failed start or a non-zero exit the terminal stays open (so its message can be read) until a key. */
  private waitingForKey = false;

  constructor(
    private readonly cli: DevenvCli,
    private readonly workspaceFolder: string,
    private readonly log: (line: string) => void,
  ) {}

  private finish(code: number, message: string): void {
    this.log(`terminal: ${message}`);
    if (code === 0) {
      this.closeEmitter.fire(0);
      return;
    }
    this.writeEmitter.fire(`\r\n[devenv: ${message}; press any key to close]\r\n`);
    this.waitingForKey = true;
  }

  open(): void {
    let child: ChildProcess;
    try {
      child = this.cli.spawn(terminalArgs(this.workspaceFolder));
    } catch (error) {
      this.finish(1, (error as Error).message);
      return;
    }
    this.child = child;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => this.writeEmitter.fire(d));
    // devenv's own messages (not the container's PTY) come with bare \n
    child.stderr?.setEncoding('utf8').on('data', (d: string) => this.writeEmitter.fire(d.replace(/\r?\n/g, '\r\n')));
    child.stdin?.on('error', () => undefined);
    child.once('error', (error: NodeJS.ErrnoException) => {
      this.child = undefined;
      this.finish(127, error.code === 'ENOENT' ? 'the devenv CLI was not found (setting `devenv.path`)' : error.message);
    });
    child.once('close', (code, signal) => {
      if (this.child !== child) return; // 'error' already reported it
      this.child = undefined;
      if (this.closedByUser) return;
      this.finish(code ?? 1, `the shell exited with ${code !== null ? `code ${code}` : `signal ${signal}`}`);
    });
  }

  handleInput(data: string): void {
    if (this.waitingForKey) {
      this.waitingForKey = false;
      this.closeEmitter.fire(1);
      return;
    }
    this.child?.stdin?.write(data);
  }

  close(): void {
    this.closedByUser = true;
    const child = this.child;
    if (!child) return;
    child.stdin?.end();
    // the end of stdin hangs the container's PTY up; make sure devenv goes if it does not
    setTimeout(() => child.exitCode === null && child.kill('SIGHUP'), 2000).unref();
  }
}

/** Create and show a terminal on an environment. */
export function openContainerTerminal(cli: DevenvCli, workspaceFolder: string, name: string, log: (line: string) => void): vscode.Terminal {
  const pty = new ContainerTerminal(cli, workspaceFolder, log);
  const terminal = vscode.window.createTerminal({ name: `devenv: ${name}`, pty, iconPath: new vscode.ThemeIcon('vm') });
  terminal.show();
  return terminal;
}
