import { containerRunMain } from '../../cli/container-run-main.js';
import { RUN_ARG_SPECS } from '../../cli/container-flags.js';
import { DockerStyleCommand, toOclifFlags } from '../../cli/docker-style-command.js';

export default class ContainerRun extends DockerStyleCommand {
  static override description = 'Create and start a container, attached unless -d; the exit code is the container\'s';
  static override usage = ['container run [FLAGS] IMAGE [COMMAND [ARG…]]', 'container run [FLAGS] --rootfs DIR COMMAND [ARG…]'];
  static override examples = [
    '<%= config.bin %> container run --rm 127.0.0.1:5000/debian:bookworm cat /etc/os-release',
    '<%= config.bin %> container run --rm --rootfs ./rootfs sh -c "echo hi"',
    '<%= config.bin %> container run -d --name web --memory 512m --rootfs ./rootfs httpd -f',
  ];
  static override flags = toOclifFlags(RUN_ARG_SPECS);

  protected main(argv: readonly string[]): Promise<number> {
    return containerRunMain(argv);
  }
}
