import { DockerStyleCommand, toOclifFlags } from '../cli/docker-style-command.js';
import { projectExecMain } from '../cli/project/exec-main.js';
import { PROJECT_EXEC_ARG_SPECS } from '../cli/project/project-flags.js';

/** remoteUser's login shell from the container's passwd (busybox has no getent; awk is everywhere). */
const LOGIN_SHELL = ['/bin/sh', '-c', 's=$(awk -F: -v u="$(id -u)" \'$3==u{print $7; exit}\' /etc/passwd 2>/dev/null); exec "${s:-/bin/sh}" -l'];

export default class Shell extends DockerStyleCommand {
  static override description = "Open remoteUser's login shell in the project's dev container";
  static override flags = toOclifFlags(PROJECT_EXEC_ARG_SPECS);

  protected main(argv: readonly string[]): Promise<number> {
    return projectExecMain(argv, LOGIN_SHELL);
  }
}
