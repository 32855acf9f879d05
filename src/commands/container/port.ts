import { Args } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { DevenvError } from '../../errors.js';
import { findRecord } from '../../runtime/container-store.js';
import { formatForward, listPorts } from '../../services/container/ports.js';

export default class ContainerPort extends BaseCommand<typeof ContainerPort> {
  static override description = "List a container's port forwards (host address and port for each container port)";
  static override usage = ['container port CONTAINER [PORT[/PROTOCOL]] [--json]'];
  static override args = {
    container: Args.string({ required: true, description: 'container name or id' }),
    port: Args.string({ required: false, description: 'only this container port (8080 or 8080/udp)' }),
  };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const record = findRecord(ctx.root, this.args.container);
    const status = listPorts(ctx, record);
    let forwards = status.forwards;
    if (this.args.port !== undefined) {
      const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(this.args.port);
      if (!m) throw new DevenvError('USAGE', `invalid port \`${this.args.port}\`: expected PORT or PORT/tcp or PORT/udp`);
      forwards = forwards.filter((f) => f.containerPort === Number(m[1]) && f.protocol === (m[2] ?? 'tcp'));
      if (forwards.length === 0 && !this.flags.json) {
        throw new DevenvError('PORT_FORWARD', `container \`${record.name}\` has no forward for port ${this.args.port}`);
      }
    }
    const lines = forwards.flatMap((f) => f.hostIps.map((ip) => `${formatForward({ ...f, hostIp: ip })}${f.label ? `  (${f.label})` : ''}`));
    this.output({ id: record.id, name: record.name, running: status.running, autoForward: status.autoForward, forwards }, lines.join('\n'));
  }
}
