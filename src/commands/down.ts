import { Flags } from '@oclif/core';

import { BaseCommand } from '../cli/base-command.js';
import { downProject } from '../services/project/down.js';

export default class Down extends BaseCommand<typeof Down> {
  static override description = "Stop and remove the project's dev container (named volumes are kept unless --volumes)";
  static override flags = {
    'workspace-folder': Flags.string({ description: 'the project folder (default: the current folder)' }),
    config: Flags.string({ description: 'devcontainer.json to use' }),
    volumes: Flags.boolean({ description: 'also remove the named volumes the container mounts' }),
  };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const result = await downProject(ctx, {
      workspaceFolder: this.flags['workspace-folder'] ?? process.cwd(),
      ...(this.flags.config ? { configFile: this.flags.config } : {}),
      volumes: this.flags.volumes,
    });
    const text = result.containerId
      ? `Removed dev container ${result.containerId.slice(0, 12)}${result.removedVolumes.length ? ` and volumes ${result.removedVolumes.join(', ')}` : ''}`
      : 'No dev container to remove';
    this.output(result, text);
  }
}
