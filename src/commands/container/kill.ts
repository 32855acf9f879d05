import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { DevenvError } from '../../errors.js';
import { findRecord } from '../../runtime/container-store.js';
import { parseSignal } from '../../services/container/signal-process.js';
import { killContainer } from '../../services/container/stop.js';

export default class ContainerKill extends BaseCommand<typeof ContainerKill> {
  static override description = 'Send a signal (default SIGKILL) to running containers';
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or id' }) };
  static override flags = { signal: Flags.string({ char: 's', description: 'signal to send', default: 'SIGKILL' }) };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const signal = parseSignal(this.flags.signal);
    for (const ref of this.operands) {
      const record = findRecord(ctx.root, ref);
      if (!(await killContainer(ctx, record, signal))) {
        throw new DevenvError('CONTAINER_STATE', `container \`${record.name}\` is not running`);
      }
      if (!this.flags.json) process.stdout.write(`${ref}\n`);
    }
    if (this.flags.json) this.output({ outcome: 'ok' });
  }
}
