import { containerExecMain } from '../../cli/container-exec-main.js';
import { EXEC_ARG_SPECS } from '../../cli/container-flags.js';
import { DockerStyleCommand, toOclifFlags } from '../../cli/docker-style-command.js';

export default class ContainerExec extends DockerStyleCommand {
  static override description = 'Run a command in a running container; the exit code is the command\'s';
  static override usage = 'container exec [FLAGS] CONTAINER COMMAND [ARG…]';
  static override examples = ['<%= config.bin %> container exec -it web sh', '<%= config.bin %> container exec -u 1000 -w /tmp web id'];
  static override flags = toOclifFlags(EXEC_ARG_SPECS);

  protected main(argv: readonly string[]): Promise<number> {
    return containerExecMain(argv);
  }
}
