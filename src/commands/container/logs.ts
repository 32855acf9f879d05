import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { findRecord } from '../../runtime/container-store.js';
import { showLogs } from '../../services/container/logs.js';

export default class ContainerLogs extends BaseCommand<typeof ContainerLogs> {
  static override description = "Print a container's output (stdout and stderr kept apart)";
  static override args = { container: Args.string({ required: true, description: 'container name or id' }) };
  static override flags = {
    follow: Flags.boolean({ char: 'f', description: 'keep printing new output until the container stops' }),
    timestamps: Flags.boolean({ char: 't', description: 'show the time of each line' }),
    tail: Flags.integer({ char: 'n', description: 'only the last N lines', min: 0 }),
  };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const record = findRecord(ctx.root, this.args.container);
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    await showLogs(ctx, record, {
      follow: this.flags.follow,
      timestamps: this.flags.timestamps,
      ...(this.flags.tail !== undefined ? { tail: this.flags.tail } : {}),
      signal: abort.signal,
      write: (stream, text) => (stream === 'stdout' ? process.stdout : process.stderr).write(text),
    });
  }
}
