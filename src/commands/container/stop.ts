import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { findRecord } from '../../runtime/container-store.js';
import { parseSignal } from '../../services/container/signal-process.js';
import { stopContainer } from '../../services/container/stop.js';

export default class ContainerStop extends BaseCommand<typeof ContainerStop> {
  static override description = 'Stop running containers: the stop signal, then SIGKILL after --time seconds';
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or id' }) };
  static override flags = {
    time: Flags.integer({ char: 't', description: 'seconds to wait before SIGKILL', default: 10, min: 0 }),
    signal: Flags.string({ char: 's', description: 'stop signal', default: 'SIGTERM' }),
  };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const signal = parseSignal(this.flags.signal);
    const out = [];
    for (const ref of this.operands) {
      const record = findRecord(ctx.root, ref);
      const r = await stopContainer(ctx, record, { timeoutSeconds: this.flags.time, signal });
      out.push({ id: record.id, name: record.name, wasRunning: r.wasRunning, killed: r.killed, exitCode: r.state.exit?.exitCode });
      if (!this.flags.json) process.stdout.write(`${ref}\n`);
    }
    if (this.flags.json) this.output(out);
  }
}
