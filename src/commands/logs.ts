import { Flags } from '@oclif/core';

import { DevenvError } from '../errors.js';
import { BaseCommand } from '../cli/base-command.js';
import { showLogs } from '../services/container/logs.js';
import { lookupProject } from '../services/project/project-lookup.js';

export default class Logs extends BaseCommand<typeof Logs> {
  static override description = "Print the output of the project's dev container";
  static override flags = {
    'workspace-folder': Flags.string({ description: 'the project folder (default: the current folder)' }),
    config: Flags.string({ description: 'devcontainer.json to use' }),
    follow: Flags.boolean({ char: 'f', description: 'keep printing new output until the container stops' }),
    tail: Flags.integer({ char: 'n', description: 'only the last N lines', min: 0 }),
  };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const { project, record } = lookupProject(ctx, { workspaceFolder: this.flags['workspace-folder'] ?? process.cwd(), ...(this.flags.config ? { configFile: this.flags.config } : {}) });
    if (!record) throw new DevenvError('CONTAINER_NOT_FOUND', `no dev container for ${project.workspaceFolder}`, { hint: 'Create it with `devenv up`.' });
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    await showLogs(ctx, record, {
      follow: this.flags.follow,
      timestamps: false,
      ...(this.flags.tail !== undefined ? { tail: this.flags.tail } : {}),
      signal: abort.signal,
      write: (stream, text) => (stream === 'stdout' ? process.stdout : process.stderr).write(text),
    });
  }
}
