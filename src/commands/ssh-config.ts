import { DockerStyleCommand, toOclifFlags } from '../cli/docker-style-command.js';
import { SSH_CONFIG_ARG_SPECS, sshConfigMain } from '../cli/ssh-main.js';

export default class SshConfig extends DockerStyleCommand {
  static override description =
    "Write a `<name>.devenv` SSH host for every dev container (devenv's own ssh config and known_hosts) and Include it from ~/.ssh/config; --remove undoes it";
  static override examples = ['<%= config.bin %> ssh-config', '<%= config.bin %> ssh-config --remove'];
  static override flags = toOclifFlags(SSH_CONFIG_ARG_SPECS);

  protected main(argv: readonly string[]): Promise<number> {
    return sshConfigMain(argv);
  }
}
