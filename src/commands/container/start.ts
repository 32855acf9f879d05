import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { findRecord } from '../../runtime/container-store.js';
import { describeExit, startContainer } from '../../services/container/start.js';

export default class ContainerStart extends BaseCommand<typeof ContainerStart> {
  static override description = 'Start one or more created or stopped containers';
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or id' }) };
  static override flags = { attach: Flags.boolean({ char: 'a', description: 'attach to the container and wait for it' }) };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const refs = this.operands;
    const results = [];
    for (const ref of refs) {
      const record = findRecord(ctx.root, ref);
      const started = await startContainer(ctx, record, { attached: this.flags.attach === true });
      for (const w of started.warnings) this.logger.warn(w);
      if (started.wait) {
        const exit = await started.wait();
        const oom = describeExit(record, exit);
        if (oom) this.logger.error(oom);
        process.exitCode = exit.exitCode;
      }
      results.push({ id: record.id, name: record.name, pid: started.pid });
      if (!this.flags.json && !this.flags.attach) process.stdout.write(`${ref}\n`);
    }
    if (this.flags.json) this.output(results);
  }
}
