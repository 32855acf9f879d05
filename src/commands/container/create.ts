import { containerCreateMain } from '../../cli/container-run-main.js';
import { CREATE_ALL_ARG_SPECS } from '../../cli/container-flags.js';
import { DockerStyleCommand, toOclifFlags } from '../../cli/docker-style-command.js';

export default class ContainerCreate extends DockerStyleCommand {
  static override description = 'Create a container without starting it; prints its id';
  static override usage = ['container create [FLAGS] IMAGE [COMMAND [ARG…]]', 'container create [FLAGS] --rootfs DIR COMMAND [ARG…]'];
  static override flags = toOclifFlags(CREATE_ALL_ARG_SPECS);

  protected main(argv: readonly string[]): Promise<number> {
    return containerCreateMain(argv);
  }
}
