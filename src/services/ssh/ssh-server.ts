import { appendFileSync, existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Duplex, type Readable, type Writable } from 'node:stream';

import ssh2, { type Connection } from 'ssh2';

import { DevenvError } from '../../errors.js';
import { bundleDir, readContainerState, type ContainerRecord } from '../../runtime/container-store.js';
import type { StreamExec } from '../container/exec-stream.js';
import { requireRunningProject, type ProjectLocation } from '../project/project-lookup.js';
import type { ProjectState } from '../project/project-state.js';
import { listEnvironments } from '../project/ps.js';
import { upProject, type UpReporter } from '../project/up.js';
import type { ServiceContext } from '../service-context.js';
import { hostAgentSocket, isAgentForwardingOff } from '../agent/agent-env.js';
import { copyGitConfig } from '../project/git-config.js';
import { ensureHostKey } from './host-keys.js';
import { createConnectionAgent } from './ssh-agent.js';
import { bridge, connectTcpInContainer, connectUnixInContainer } from './ssh-forward.js';
import { findEnvironmentByHost, sshHostAlias } from './ssh-naming.js';
import { handleSession, type SessionContext } from './ssh-session.js';

/** Where `devenv ssh --stdio` finds its environment: a project folder, or the `<name>.devenv` host ssh asked for. */
export type SshTarget = ProjectLocation | { host: string };

export interface SshStdioOptions {
  target: SshTarget;
  hostEnv: NodeJS.ProcessEnv;
  /** `up`'s progress (stderr only: stdout carries the SSH protocol). */
  reporter: UpReporter;
  input: Readable;
  output: Writable;
}

/** How long a disconnect waits for the hung-up commands to end (one that ignores SIGHUP keeps running, as under sshd). */
const HANGUP_WAIT_MS = 3000;

/** Where images commonly keep OpenSSH's sftp-server. */
const SFTP_SERVER_PATHS = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/lib/ssh/sftp-server', '/usr/libexec/sftp-server', '/usr/lib/sftp-server'];

/** The project of an SSH target (a `<name>.devenv` host is looked up among this store's environments). */
export function resolveSshTarget(ctx: ServiceContext, target: SshTarget): ProjectLocation {
  if (!('host' in target)) return target;
  const envs = listEnvironments(ctx);
  const found = findEnvironmentByHost(target.host, envs);
  if (!found) {
    const known = envs.map((e) => sshHostAlias(e.name)).join(', ') || 'none';
    throw new DevenvError('CONTAINER_NOT_FOUND', `no dev container is called \`${target.host}\` in ${ctx.root} (known: ${known})`, {
      hint: 'Run `devenv ps` to list them, and `devenv ssh-config` to refresh ~/.ssh after a rename.',
    });
  }
  return { workspaceFolder: found.workspaceFolder, ...(found.configFile ? { configFile: found.configFile } : {}) };
}

function findSftpServer(ctx: ServiceContext, record: ContainerRecord): string | undefined {
  const pid = readContainerState(bundleDir(ctx.root, record.id)).pid;
  if (!pid) return undefined;
  // The container's root as its init sees it; a symlinked path is fine: the runtime execs it inside.
  return SFTP_SERVER_PATHS.find((p) => {
    try {
      return existsSync(`/proc/${pid}/root${p}`);
    } catch {
      return false;
    }
  });
}

/**
 * `devenv ssh --stdio`: bring the environment up if needed, then speak SSH on input/output (an OpenSSH
 * ProxyCommand's pipes) until the client goes away. Anyone who can run this already is the user, so every
 * authentication method is accepted (docs/ssh.md). Resolves once the connection closed and the commands it
 * started were hung up.
 */
export async function serveSshOverStdio(ctx: ServiceContext, options: SshStdioOptions): Promise<void> {
  const location = resolveSshTarget(ctx, options.target);
  await upProject(ctx, { ...location, rebuild: false, hostEnv: options.hostEnv, reporter: options.reporter });
  const { record, state } = requireRunningProject(ctx, location);
  await copyGitConfig(ctx, record, state.remoteUser, options.hostEnv).catch((error: unknown) => options.reporter.warn(`copying the git config: ${(error as Error).message}`));
  const alias = sshHostAlias(record.name);
  const key = ensureHostKey(ctx.root, alias);
  return serveConnection(ctx, record, state, key.privateKey, options);
}

function serveConnection(ctx: ServiceContext, record: ContainerRecord, state: ProjectState, hostKey: string, options: SshStdioOptions): Promise<void> {
  const { input, output } = options;
  const agentOff = isAgentForwardingOff(options.hostEnv);
  const hostAgent = hostAgentSocket(options.hostEnv);
  const running = new Set<StreamExec>();
  const sftpServer = findSftpServer(ctx, record);
  return new Promise((resolve) => {
    const debugFile = process.env.DEVENV_SSH_DEBUG; // ssh2's protocol trace, for debugging a client
    const debug = debugFile ? (m: string) => appendFileSync(debugFile, `${process.pid} ${m}\n`) : undefined;
    const server = new ssh2.Server({ hostKeys: [hostKey], ident: 'devenv', ...(debug ? { debug } : {}) }, (client: Connection) => {
      // Agent forwarding (docs/ssh-agent-and-git.md): one relay socket per connection, made when a session needs it.
      const agent = agentOff ? undefined : createConnectionAgent({ ctx, record, state, client, ...(hostAgent ? { hostAgent } : {}), warn: (m) => options.reporter.warn(m) });
      const sc: SessionContext = {
        ctx,
        record,
        state,
        running,
        sessionEnv: [],
        ...(sftpServer ? { sftpServer } : {}),
        ...(agent ? { agentSocket: (asked: boolean) => agent.socketFor(asked) } : {}),
      };
      client.on('authentication', (auth) => auth.accept());
      client.on('ready', () => {
        client.on('session', (accept) => handleSession(sc, accept()));
        client.on('tcpip', (accept, reject, info) => {
          connectTcpInContainer(ctx, record, info.destIP, info.destPort).then(
            (socket: Socket) => bridge(accept(), socket),
            (error: unknown) => {
              ctx.logger.debug(`direct-tcpip ${info.destIP}:${info.destPort}: ${(error as Error).message}`);
              reject();
            },
          );
        });
        client.on('openssh.streamlocal', (accept, reject, info) => {
          connectUnixInContainer(ctx, record, info.socketPath).then(
            (socket: Socket) => bridge(accept(), socket),
            (error: unknown) => {
              ctx.logger.debug(`direct-streamlocal ${info.socketPath}: ${(error as Error).message}`);
              reject();
            },
          );
        });
      });
      client.on('error', (error: Error) => ctx.logger.debug(`ssh: ${error.message}`));
      client.on('close', () => {
        agent?.close();
        // The client went away: hang up what it started, as sshd does when the connection drops.
        for (const p of running) p.hangup();
        const ended = Promise.allSettled([...running].map((p) => p.exited));
        void Promise.race([ended, new Promise((r) => setTimeout(r, HANGUP_WAIT_MS).unref())]).then(() => resolve());
      });
    });
    const socket = Duplex.from({ readable: input, writable: output });
    // ssh2 calls socket methods a net.Socket has; a Duplex over our pipes lacks only these.
    Object.assign(socket, { setNoDelay: () => socket, setKeepAlive: () => socket, remoteAddress: '127.0.0.1', remotePort: 0 });
    server.injectSocket(socket as unknown as Socket);
  });
}
