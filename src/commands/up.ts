import { DockerStyleCommand, toOclifFlags } from '../cli/docker-style-command.js';
import { UP_ARG_SPECS } from '../cli/project/project-flags.js';
import { upMain } from '../cli/project/up-main.js';

export default class Up extends DockerStyleCommand {
  static override description =
    "Create (pulling the image) or start the project's dev container from its devcontainer.json and run the lifecycle hooks that are due";
  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up --workspace-folder ./my-project --json',
    '<%= config.bin %> up --rebuild',
    '<%= config.bin %> up --config .devcontainer/python/devcontainer.json',
  ];
  static override flags = toOclifFlags(UP_ARG_SPECS);

  protected main(argv: readonly string[]): Promise<number> {
    return upMain(argv);
  }
}
