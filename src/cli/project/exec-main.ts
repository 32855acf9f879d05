import { DevenvError } from '../../errors.js';
import { hostAgentSocket } from '../../services/agent/agent-env.js';
import type { HostAgentForwarder, SessionAgent } from '../../services/agent/host-agent.js';
import { execInProject } from '../../services/project/project-exec.js';
import { parseDockerArgs } from '../docker-args.js';
import { contextFromFlags, printWarnings, runDockerStyle } from '../docker-style-io.js';
import { chooseConfigIfAmbiguous } from './choose-config.js';
import { PROJECT_EXEC_ARG_SPECS, projectLocation } from './project-flags.js';

/** `devenv exec [FLAGS] COMMAND [ARG…]` in the project's container; the command's exit code is ours. */
export async function projectExecMain(argv: readonly string[], defaultCommand?: string[]): Promise<number> {
  // With an agent to forward, its relay thread starts booting now, while the project is looked up. Loaded only
  // then: exec's start-up stays as it was without an agent.
  const agentSocket = hostAgentSocket(process.env);
  const forwarder: HostAgentForwarder | undefined = agentSocket ? (await import('../../services/agent/host-agent.js')).prepareHostAgent(agentSocket) : undefined;
  return runDockerStyle(argv, 'devenv exec', async () => {
    const { flags, positionals } = parseDockerArgs(argv, PROJECT_EXEC_ARG_SPECS, { command: 'exec', leadingPositionals: 1 });
    const command = positionals.length > 0 ? positionals : defaultCommand;
    if (!command) throw new DevenvError('USAGE', 'exec: no command given', { hint: 'Usage: devenv exec [--workspace-folder DIR] COMMAND [ARG…]' });
    const ctx = contextFromFlags(flags);
    const tty = flags['no-tty'] === true ? false : flags.tty === true || (process.stdin.isTTY === true && process.stdout.isTTY === true);
    const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
    const user = typeof flags.user === 'string' ? flags.user : undefined;
    let agent: SessionAgent | undefined;
    const result = await chooseConfigIfAmbiguous(projectLocation(flags), interactive, async (location) => {
      if (forwarder && !agent) agent = await forwarder.forward(ctx, location, user);
      return execInProject(ctx, {
        ...location,
        command,
        env: [...(agent?.env ?? []), ...((flags['remote-env'] as string[] | undefined) ?? [])],
        ...(user !== undefined ? { user } : {}),
        ...(typeof flags.workdir === 'string' ? { workdir: flags.workdir } : {}),
        tty,
        interactive: true,
      });
    });
    printWarnings(ctx, [...(agent?.warnings ?? []), ...result.warnings]);
    process.on('SIGINT', () => undefined); // the terminal delivers it to the command too; we wait for its end
    try {
      return result.wait ? result.wait() : 0;
    } finally {
      agent?.close();
    }
  });
}
