import { DevenvError } from '../../errors.js';
import { upProject, type UpResult } from '../../services/project/up.js';
import { parseDockerArgs } from '../docker-args.js';
import { contextFromFlags, runDockerStyle } from '../docker-style-io.js';
import { projectLocation, UP_ARG_SPECS } from './project-flags.js';
import { chooseConfigIfAmbiguous } from './choose-config.js';
import { formatForwardedPorts } from './port-lines.js';
import { createUpReporter } from './up-reporter.js';

function describe(result: UpResult): string {
  const what = result.action === 'created' ? 'created and started' : result.action === 'started' ? 'started' : 'already running';
  return `Dev container ${result.containerName} ${what}: ${result.remoteUser}@${result.remoteWorkspaceFolder}\n${formatForwardedPorts(result.forwardedPorts)}`;
}

/** `devenv up`: on the fast path (bin/devenv), so a warm `up` costs little more than Node's start. */
export async function upMain(argv: readonly string[]): Promise<number> {
  return runDockerStyle(argv, 'devenv up', async (json) => {
    const { flags, positionals } = parseDockerArgs(argv, UP_ARG_SPECS, { command: 'up', leadingPositionals: 1 });
    if (positionals.length > 0) throw new DevenvError('USAGE', `up: unexpected argument \`${positionals[0]}\``, { hint: 'Pass the project with --workspace-folder DIR.' });
    const ctx = contextFromFlags(flags);
    const reporter = createUpReporter(json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain');
    const options = { ...projectLocation(flags), rebuild: flags.rebuild === true, skipPostAttach: flags['skip-post-attach'] === true, frozenLockfile: flags['frozen-lockfile'] === true, hostEnv: process.env, reporter };
    let result: UpResult;
    const interactive = !json && process.stdin.isTTY === true && process.stderr.isTTY === true;
    try {
      result = await chooseConfigIfAmbiguous(projectLocation(flags), interactive, (location) => upProject(ctx, { ...options, ...location }));
    } catch (error) {
      await reporter.stop(true);
      throw error;
    }
    await reporter.stop();
    process.stdout.write(json ? `${JSON.stringify(result)}\n` : describe(result));
    if (flags.watch === true) {
      const { watchProject } = await import('../../services/project/watch.js');
      return watchProject(ctx, { ...options, configFile: result.configFile, yes: flags.yes === true, json }, result);
    }
    return 0;
  });
}
