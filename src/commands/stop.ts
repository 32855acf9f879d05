import { Flags } from '@oclif/core';

import { BaseCommand } from '../cli/base-command.js';
import { stopProject } from '../services/project/stop-start.js';

export default class Stop extends BaseCommand<typeof Stop> {
  static override description = "Stop the project's dev container (`devenv up` or `devenv start` starts it again)";
  static override flags = {
    'workspace-folder': Flags.string({ description: 'the project folder (default: the current folder)' }),
    config: Flags.string({ description: 'devcontainer.json to use' }),
  };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const result = await stopProject(ctx, { workspaceFolder: this.flags['workspace-folder'] ?? process.cwd(), ...(this.flags.config ? { configFile: this.flags.config } : {}) });
    this.output(result, result.wasRunning ? 'Stopped' : 'Already stopped');
  }
}
