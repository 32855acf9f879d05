import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { findRecord } from '../../runtime/container-store.js';
import { removeContainer } from '../../services/container/remove.js';

export default class ContainerRm extends BaseCommand<typeof ContainerRm> {
  static override description = 'Remove containers (with -f, running ones too): their files, cgroups and mounts';
  static override aliases = ['container:remove'];
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or id' }) };
  static override flags = { force: Flags.boolean({ char: 'f', description: 'kill the container first if it is running' }) };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const removed = [];
    for (const ref of this.operands) {
      const record = findRecord(ctx.root, ref);
      await removeContainer(ctx, record, { force: this.flags.force });
      removed.push(record.id);
      if (!this.flags.json) process.stdout.write(`${ref}\n`);
    }
    if (this.flags.json) this.output({ removed });
  }
}
