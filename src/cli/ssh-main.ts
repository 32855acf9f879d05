import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { DevenvError } from '../errors.js';
import { packageRoot } from '../host/native-addon.js';
import { hostAgentSocket } from '../services/agent/agent-env.js';
import type { ServiceContext } from '../services/service-context.js';
import { execInProject } from '../services/project/project-exec.js';
import { upProject, type UpResult } from '../services/project/up.js';
import { removeSshConfig, sshConfigPaths, writeSshConfig, type SshConfigResult } from '../services/ssh/ssh-config.js';
import { sessionCommand } from '../services/ssh/ssh-session.js';
import { serveSshOverStdio } from '../services/ssh/ssh-server.js';
import { sshHostAlias } from '../services/ssh/ssh-naming.js';
import { buildVscodeRemoteUri, vscodeOpenArgs } from '../services/ssh/vscode-uri.js';
import { GLOBAL_ARG_SPECS } from './container-flags.js';
import { parseDockerArgs, type ArgSpec } from './docker-args.js';
import { contextFromFlags, printWarnings, runDockerStyle } from './docker-style-io.js';
import { PROJECT_ARG_SPECS, projectLocation } from './project/project-flags.js';
import { createUpReporter } from './project/up-reporter.js';

export const SSH_ARG_SPECS: readonly ArgSpec[] = [
  { name: 'stdio', type: 'boolean', description: 'speak SSH on stdin/stdout (for an OpenSSH ProxyCommand; `devenv ssh-config` writes it)' },
  { name: 'host', type: 'string', description: 'with --stdio: the environment as ssh names it (`<name>.devenv`, `%h`)' },
  ...PROJECT_ARG_SPECS,
];

export const SSH_CONFIG_ARG_SPECS: readonly ArgSpec[] = [
  { name: 'remove', type: 'boolean', description: "take devenv's Include out of ~/.ssh/config and delete devenv's ssh files" },
  ...GLOBAL_ARG_SPECS,
];

export const OPEN_ARG_SPECS: readonly ArgSpec[] = [
  { name: 'ide', type: 'string', options: ['vscode'], default: 'vscode', description: 'the editor to open' },
  ...PROJECT_ARG_SPECS,
];

/** How ssh's ProxyCommand starts this devenv: the node running us and bin/devenv, both by absolute path. */
export function devenvCommand(): string[] {
  return [process.execPath, join(packageRoot(), 'bin', 'devenv')];
}

async function up(ctx: ServiceContext, flags: Record<string, unknown>, json: boolean): Promise<UpResult> {
  const reporter = createUpReporter(json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain');
  try {
    const result = await upProject(ctx, { ...projectLocation(flags), rebuild: false, hostEnv: process.env, reporter });
    await reporter.stop();
    return result;
  } catch (error) {
    await reporter.stop(true);
    throw error;
  }
}

/** `devenv ssh [-- CMD…]` for people, and `devenv ssh --stdio` for OpenSSH's ProxyCommand. */
export async function sshMain(argv: readonly string[]): Promise<number> {
  return runDockerStyle(argv, 'devenv ssh', async (json) => {
    const { flags, positionals } = parseDockerArgs(argv, SSH_ARG_SPECS, { command: 'ssh', leadingPositionals: 1 });
    const ctx = contextFromFlags(flags);
    if (flags.stdio === true) {
      if (positionals.length > 0) throw new DevenvError('USAGE', 'ssh --stdio takes no command: the SSH client sends it');
      const target = typeof flags.host === 'string' ? { host: flags.host } : projectLocation(flags);
      // stdout is the SSH stream: `up` reports on stderr, and never with a terminal view.
      const reporter = createUpReporter('plain');
      await serveSshOverStdio(ctx, { target, hostEnv: process.env, reporter, input: process.stdin, output: process.stdout });
      return 0;
    }
    if (typeof flags.host === 'string') throw new DevenvError('USAGE', 'ssh: --host goes with --stdio; for people, pass --workspace-folder');
    await up(ctx, flags, json);
    const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
    // One word is a command line for remoteUser's shell (as `ssh host 'a | b'`); several are an argv (as `exec`).
    const command = positionals.length === 0 ? sessionCommand(undefined) : positionals.length === 1 ? sessionCommand(positionals[0]) : positionals;
    const agentSocket = hostAgentSocket(process.env);
    const forwarder = agentSocket ? (await import('../services/agent/host-agent.js')).prepareHostAgent(agentSocket) : undefined;
    const agent = await forwarder?.forward(ctx, projectLocation(flags), undefined);
    const result = await execInProject(ctx, { ...projectLocation(flags), command, env: agent?.env ?? [], tty, interactive: true });
    printWarnings(ctx, [...(agent?.warnings ?? []), ...result.warnings]);
    process.on('SIGINT', () => undefined);
    try {
      return result.wait ? result.wait() : 0;
    } finally {
      agent?.close();
    }
  });
}

function describeConfig(r: SshConfigResult): string {
  const lines = r.hosts.map((h) => `  ssh ${h.alias}    (${h.workspaceFolder})`);
  return [
    `Wrote ${r.configFile} (${r.hosts.length} host${r.hosts.length === 1 ? '' : 's'})${r.includeAdded ? `; ${r.userConfig} now includes it` : ''}`,
    ...(r.backup ? [`Backup of the previous ${r.userConfig}: ${r.backup}`] : []),
    ...lines,
  ].join('\n');
}

/** `devenv ssh-config [--remove]`. */
export async function sshConfigMain(argv: readonly string[]): Promise<number> {
  return runDockerStyle(argv, 'devenv ssh-config', async (json) => {
    const { flags, positionals } = parseDockerArgs(argv, SSH_CONFIG_ARG_SPECS, { command: 'ssh-config', leadingPositionals: 1 });
    if (positionals.length > 0) throw new DevenvError('USAGE', `ssh-config: unexpected argument \`${positionals[0]}\``);
    const ctx = contextFromFlags(flags);
    const paths = sshConfigPaths();
    if (flags.remove === true) {
      const r = removeSshConfig(paths);
      process.stdout.write(json ? `${JSON.stringify(r)}\n` : `${r.includeRemoved ? `Removed devenv's Include from ${paths.userConfig}` : `${paths.userConfig} had no Include of devenv's`}\n`);
      return 0;
    }
    const r = writeSshConfig(ctx, { devenvCommand: devenvCommand(), paths });
    process.stdout.write(json ? `${JSON.stringify(r)}\n` : `${describeConfig(r)}\n`);
    return 0;
  });
}

/** `devenv open`: up, ssh-config, then VS Code on the container's workspace folder over Remote-SSH. */
export async function openMain(argv: readonly string[]): Promise<number> {
  return runDockerStyle(argv, 'devenv open', async (json) => {
    const { flags, positionals } = parseDockerArgs(argv, OPEN_ARG_SPECS, { command: 'open', leadingPositionals: 1 });
    if (positionals.length > 0) throw new DevenvError('USAGE', `open: unexpected argument \`${positionals[0]}\``, { hint: 'Pass the project with --workspace-folder DIR.' });
    const ctx = contextFromFlags(flags);
    const result = await up(ctx, flags, json);
    writeSshConfig(ctx, { devenvCommand: devenvCommand(), paths: sshConfigPaths() });
    const host = sshHostAlias(result.containerName);
    const uri = buildVscodeRemoteUri(host, result.remoteWorkspaceFolder);
    const code = process.env.DEVENV_VSCODE ?? 'code';
    const launched = spawnSync(code, vscodeOpenArgs(uri), { stdio: 'inherit' });
    const opened = launched.error === undefined && launched.status === 0;
    if (json) process.stdout.write(`${JSON.stringify({ outcome: 'success', host, uri, opened })}\n`);
    else if (opened) process.stdout.write(`Opened ${uri}\n`);
    else process.stdout.write(`${uri}\n`);
    if (!opened && !json) process.stderr.write(`\`${code}\` is not available: open the URI above in VS Code (Remote-SSH), or run \`ssh ${host}\`\n`);
    return 0;
  });
}
