import { DockerStyleCommand, toOclifFlags } from '../cli/docker-style-command.js';
import { OPEN_ARG_SPECS, openMain } from '../cli/ssh-main.js';

export default class Open extends DockerStyleCommand {
  static override description =
    "Bring the project's dev container up and open it in VS Code over Remote-SSH (prints the vscode-remote:// URI when `code` is not installed)";
  static override examples = ['<%= config.bin %> open', '<%= config.bin %> open --workspace-folder ./my-project'];
  static override flags = toOclifFlags(OPEN_ARG_SPECS);

  protected main(argv: readonly string[]): Promise<number> {
    return openMain(argv);
  }
}
