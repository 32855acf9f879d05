import { DockerStyleCommand, toOclifFlags } from '../cli/docker-style-command.js';
import { projectExecMain } from '../cli/project/exec-main.js';
import { PROJECT_EXEC_ARG_SPECS } from '../cli/project/project-flags.js';

export default class Exec extends DockerStyleCommand {
  static override description = "Run a command in the project's dev container as remoteUser, in the workspace folder, with remoteEnv; its exit code is devenv's";
  static override usage = ['exec [FLAGS] COMMAND [ARG…]'];
  static override examples = ['<%= config.bin %> exec npm test', '<%= config.bin %> exec --workspace-folder ./app -- bash -lc "make build"'];
  static override flags = toOclifFlags(PROJECT_EXEC_ARG_SPECS);

  protected main(argv: readonly string[]): Promise<number> {
    return projectExecMain(argv);
  }
}
