import type { Readable } from 'node:stream';

import type { PseudoTtyInfo, ServerChannel, Session, SFTPWrapper } from 'ssh2';

import type { ContainerRecord } from '../../runtime/container-store.js';
import { execStream, type StreamExec, type StreamPty } from '../container/exec-stream.js';
import { remoteEnvList } from '../project/project-hooks.js';
import type { ProjectState } from '../project/project-state.js';
import type { ServiceContext } from '../service-context.js';
import { serveSftpFallback } from './sftp-fallback.js';

/** What every session of one connection shares. */
export interface SessionContext {
  ctx: ServiceContext;
  record: ContainerRecord;
  state: ProjectState;
  /** An sftp-server inside the container, when the image has one (the sftp subsystem then runs it). */
  sftpServer?: string;
  /** Running commands, so a disconnect can hang them up. */
  running: Set<StreamExec>;
  /** Extra environment for every session. */
  sessionEnv: string[];
  /**
   * The connection's agent relay (absent: agent forwarding is off). Resolves with SSH_AUTH_SOCK for a session;
   * `asked`: the session sent `auth-agent-req` (ssh -A).
   */
  agentSocket?: (asked: boolean) => Promise<string | undefined>;
}

/** remoteUser's shell from the container's passwd (busybox has no getent; awk is everywhere). */
const USER_SHELL = 's=$(awk -F: -v u="$(id -u)" \'$3==u{print $7; exit}\' /etc/passwd 2>/dev/null); s=${s:-/bin/sh}';

/** The argv of a session: the login shell for `shell`, `<shell> -c COMMAND` for `exec` (as sshd does). Pure. */
export function sessionCommand(command: string | undefined): string[] {
  if (command === undefined) return ['/bin/sh', '-c', `${USER_SHELL}; exec "$s" -l`];
  return ['/bin/sh', '-c', `${USER_SHELL}; exec "$s" -c "$1"`, 'sh', command];
}

const SIGNAL_NUMBER: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15 };

/**
 * One SSH `session` channel: collects env and pty-req, then runs exec/shell/subsystem in the container and
 * relays stdio, window changes and signals; sends exit-status (or exit-signal) before closing.
 */
export function handleSession(sc: SessionContext, session: Session): void {
  const env: string[] = [];
  let pty: StreamPty | undefined;
  let proc: StreamExec | undefined;
  let pendingSize: { rows: number; cols: number } | undefined;
  let lastSignal: string | undefined;

  session.on('env', (accept, _reject, info) => {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(info.key)) env.push(`${info.key}=${info.val}`);
    accept?.();
  });
  session.on('pty', (accept, _reject, info: PseudoTtyInfo) => {
    pty = { rows: info.rows || 24, cols: info.cols || 80, term: (info as PseudoTtyInfo & { term?: string }).term ?? 'xterm' };
    accept?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    if (pty) pty = { ...pty, rows: info.rows, cols: info.cols };
    if (proc) proc.resize(info.rows, info.cols);
    else pendingSize = { rows: info.rows, cols: info.cols };
    accept?.();
  });
  session.on('signal', (accept, _reject, info) => {
    const name = String(info.name).replace(/^SIG/, '');
    if (proc && SIGNAL_NUMBER[name] !== undefined) {
      lastSignal = name;
      proc.signal(`SIG${name}` as NodeJS.Signals);
    }
    accept?.();
  });
  let agentAsked = false;
  session.on('auth-agent', (accept, reject) => {
    if (!sc.agentSocket) {
      reject?.();
      return;
    }
    agentAsked = true;
    accept?.();
  });

  const start = (channel: ServerChannel, command: string[], usePty: boolean, withAgent = true): void => {
    const agent = withAgent && sc.agentSocket ? sc.agentSocket(agentAsked).catch(() => undefined) : Promise.resolve(undefined);
    void agent.then((sock) => execStream(sc.ctx, sc.record, {
      command,
      env: [...remoteEnvList(sc.state), ...sc.sessionEnv, ...(sock ? [`SSH_AUTH_SOCK=${sock}`] : []), ...env],
      user: sc.state.remoteUser,
      workdir: sc.state.remoteWorkspaceFolder,
      ...(usePty && pty ? { pty: pendingSize ? { ...pty, ...pendingSize } : pty } : {}),
    })).then(
      (p) => {
        proc = p;
        sc.running.add(p);
        relay(channel, p, () => lastSignal, usePty && pty !== undefined).finally(() => sc.running.delete(p));
      },
      (error: unknown) => {
        channel.stderr.write(`devenv: ${(error as Error).message}\r\n`);
        channel.exit((error as { exitCode?: number }).exitCode ?? 125);
        channel.end();
      },
    );
  };

  session.on('exec', (accept, _reject, info) => {
    const channel = accept();
    if (channel) start(channel, sessionCommand(info.command), pty !== undefined);
  });
  session.on('shell', (accept) => {
    const channel = accept();
    if (channel) start(channel, sessionCommand(undefined), pty !== undefined);
  });
  if (sc.sftpServer) {
    const sftpServer = sc.sftpServer;
    session.on('subsystem', (accept, reject, info) => {
      if (info.name !== 'sftp') {
        reject?.();
        return;
      }
      const channel = accept() as unknown as ServerChannel;
      if (channel) start(channel, [sftpServer], false, false);
    });
  } else {
    session.on('sftp', (accept) => {
      const sftp: SFTPWrapper = accept();
      serveSftpFallback(sc, sftp);
    });
  }
}

/** Relay a command's stdio over the channel; exit-status (or exit-signal) then EOF and close, as sshd does. */
async function relay(channel: ServerChannel, p: StreamExec, lastSignal: () => string | undefined, usePty: boolean): Promise<void> {
  channel.pipe(p.stdin, { end: !usePty });
  p.stdin.on('error', () => undefined);
  const pump = (from: Readable, to: NodeJS.WritableStream): void => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) {
        from.pause();
        (to as unknown as Readable).once('drain', () => from.resume());
      }
    });
  };
  pump(p.stdout, channel);
  if (p.stderr) pump(p.stderr, channel.stderr);
  channel.on('close', () => p.hangup());
  const code = await p.exited.catch(() => 255);
  const sig = lastSignal();
  if (sig !== undefined && code === 128 + (SIGNAL_NUMBER[sig] ?? -1000)) channel.exit(sig, false, '');
  else channel.exit(code);
  channel.end();
}
