import { DevenvError } from '../errors.js';
import { findRecord } from '../runtime/container-store.js';
import { execInContainer } from '../services/container/exec.js';
import { EXEC_ARG_SPECS } from './container-flags.js';
import { parseDockerArgs } from './docker-args.js';
import { contextFromFlags, printWarnings, runDockerStyle } from './docker-style-io.js';

/** `devenv container exec [FLAGS] CONTAINER COMMAND [ARG…]`: the command's exit code is ours. */
export async function containerExecMain(argv: readonly string[]): Promise<number> {
  return runDockerStyle(argv, 'devenv container exec', async (json) => {
    const { flags, positionals } = parseDockerArgs(argv, EXEC_ARG_SPECS, { command: 'container exec', leadingPositionals: 1 });
    const ctx = contextFromFlags(flags);
    const [ref, ...command] = positionals;
    if (!ref) throw new DevenvError('USAGE', 'container exec: missing CONTAINER', { hint: 'Usage: devenv container exec [FLAGS] CONTAINER COMMAND [ARG…]' });
    const record = findRecord(ctx.root, ref);
    const result = await execInContainer(ctx, record, {
      command,
      interactive: flags.interactive === true,
      tty: flags.tty === true,
      detach: flags.detach === true,
      env: (flags.env as string[]) ?? [],
      envFiles: (flags['env-file'] as string[]) ?? [],
      privileged: flags.privileged === true,
      ...(typeof flags.user === 'string' ? { user: flags.user } : {}),
      ...(typeof flags.workdir === 'string' ? { workdir: flags.workdir } : {}),
    });
    printWarnings(ctx, result.warnings);
    if (!result.wait) {
      if (json) process.stdout.write(`${JSON.stringify({ pid: result.pid })}\n`);
      return 0;
    }
    process.on('SIGINT', () => undefined); // the terminal delivers it to the command too; we wait for its end
    return result.wait();
  });
}
