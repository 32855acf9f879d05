import { Flags } from '@oclif/core';

import { BaseCommand } from '../cli/base-command.js';
import { readConfiguration } from '../services/project/read-configuration.js';

export default class ReadConfiguration extends BaseCommand<typeof ReadConfiguration> {
  static override description = "Print the project's devcontainer.json after substitution (JSON, like the devcontainer CLI's read-configuration)";
  static override flags = {
    'workspace-folder': Flags.string({ description: 'the project folder (default: the current folder)' }),
    config: Flags.string({ description: 'devcontainer.json to use' }),
    'include-merged-configuration': Flags.boolean({ description: "also print the config merged with the image's devcontainer.metadata" }),
  };

  async run(): Promise<void> {
    const result = readConfiguration(
      { root: this.storeRoot, logger: this.logger },
      {
        workspaceFolder: this.flags['workspace-folder'] ?? process.cwd(),
        ...(this.flags.config ? { configFile: this.flags.config } : {}),
        includeMerged: this.flags['include-merged-configuration'],
      },
    );
    process.stdout.write(`${JSON.stringify(result, null, this.flags.json ? undefined : 2)}\n`);
  }
}
