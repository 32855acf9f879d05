import { DockerStyleCommand, toOclifFlags } from '../cli/docker-style-command.js';
import { SSH_ARG_SPECS, sshMain } from '../cli/ssh-main.js';

export default class Ssh extends DockerStyleCommand {
  static override description =
    "Open a shell (or run a command) in the project's dev container over devenv's SSH server, bringing it up first; with --stdio, serve SSH on stdin/stdout for OpenSSH's ProxyCommand";
  static override examples = [
    '<%= config.bin %> ssh',
    '<%= config.bin %> ssh --workspace-folder ./my-project -- make test',
    'ssh -o ProxyCommand="<%= config.bin %> ssh --stdio --host %h" my-project-1a2b3c4d.devenv',
  ];
  static override flags = toOclifFlags(SSH_ARG_SPECS);

  protected main(argv: readonly string[]): Promise<number> {
    return sshMain(argv);
  }
}
