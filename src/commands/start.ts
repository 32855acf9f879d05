import { DevenvError } from '../errors.js';
import { DockerStyleCommand, toOclifFlags } from '../cli/docker-style-command.js';
import { contextFromFlags, runDockerStyle } from '../cli/docker-style-io.js';
import { parseDockerArgs } from '../cli/docker-args.js';
import { PROJECT_ARG_SPECS, projectLocation } from '../cli/project/project-flags.js';
import { upMain } from '../cli/project/up-main.js';
import { lookupProject } from '../services/project/project-lookup.js';

export default class Start extends DockerStyleCommand {
  static override description = "Start the project's existing dev container and run postStartCommand and postAttachCommand (never creates one)";
  static override flags = toOclifFlags(PROJECT_ARG_SPECS);

  protected async main(argv: readonly string[]): Promise<number> {
    const exists = await runDockerStyle(argv, 'devenv start', async () => {
      const { flags } = parseDockerArgs(argv, PROJECT_ARG_SPECS, { command: 'start', leadingPositionals: 1 });
      const found = lookupProject(contextFromFlags(flags), projectLocation(flags));
      if (!found.record) {
        throw new DevenvError('CONTAINER_NOT_FOUND', `no dev container for ${found.project.workspaceFolder}`, { hint: 'Create it with `devenv up`.' });
      }
      return 0;
    });
    return exists === 0 ? upMain(argv) : exists;
  }
}
