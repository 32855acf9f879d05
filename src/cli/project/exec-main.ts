import { DevenvError } from '../../errors.js';
import { execInProject } from '../../services/project/project-exec.js';
import { parseDockerArgs } from '../docker-args.js';
import { contextFromFlags, printWarnings, runDockerStyle } from '../docker-style-io.js';
import { chooseConfigIfAmbiguous } from './choose-config.js';
import { PROJECT_EXEC_ARG_SPECS, projectLocation } from './project-flags.js';

/** `devenv exec [FLAGS] COMMAND [ARG…]` in the project's container; the command's exit code is ours. */
export async function projectExecMain(argv: readonly string[], defaultCommand?: string[]): Promise<number> {
  return runDockerStyle(argv, 'devenv exec', async () => {
    const { flags, positionals } = parseDockerArgs(argv, PROJECT_EXEC_ARG_SPECS, { command: 'exec', leadingPositionals: 1 });
    const command = positionals.length > 0 ? positionals : defaultCommand;
    if (!command) throw new DevenvError('USAGE', 'exec: no command given', { hint: 'Usage: devenv exec [--workspace-folder DIR] COMMAND [ARG…]' });
    const ctx = contextFromFlags(flags);
    const tty = flags['no-tty'] === true ? false : flags.tty === true || (process.stdin.isTTY === true && process.stdout.isTTY === true);
    const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
    const result = await chooseConfigIfAmbiguous(projectLocation(flags), interactive, (location) => execInProject(ctx, {
      ...location,
      command,
      env: (flags['remote-env'] as string[] | undefined) ?? [],
      ...(typeof flags.user === 'string' ? { user: flags.user } : {}),
      ...(typeof flags.workdir === 'string' ? { workdir: flags.workdir } : {}),
      tty,
      interactive: true,
    }));
    printWarnings(ctx, result.warnings);
    process.on('SIGINT', () => undefined); // the terminal delivers it to the command too; we wait for its end
    return result.wait ? result.wait() : 0;
  });
}
