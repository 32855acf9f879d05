import { Args } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { findRecord } from '../../runtime/container-store.js';
import { inspectContainer } from '../../services/container/list.js';

export default class ContainerInspect extends BaseCommand<typeof ContainerInspect> {
  static override description = 'Show everything devenv knows about containers, as JSON';
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or id' }) };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const out = this.operands.map((ref) => inspectContainer(ctx, findRecord(ctx.root, ref)));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  }
}
