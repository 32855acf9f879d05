import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { removeProjectPort } from '../../services/project/project-ports.js';

export default class PortsRm extends BaseCommand<typeof PortsRm> {
  static override description =
    "Stop forwarding a port of the project's running dev container (an automatic forward stays off while its server listens)";
  static override usage = ['ports rm PORT[/udp]'];
  static override examples = ['<%= config.bin %> ports rm 3000'];
  static override args = {
    port: Args.string({ required: true, description: 'the container port (3000, or 3000/udp)' }),
  };
  static override flags = {
    'workspace-folder': Flags.string({ description: 'the project folder (default: the current folder)' }),
    config: Flags.string({ description: 'devcontainer.json to use' }),
  };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const removed = await removeProjectPort(
      ctx,
      { workspaceFolder: this.flags['workspace-folder'] ?? process.cwd(), ...(this.flags.config ? { configFile: this.flags.config } : {}) },
      this.args.port,
    );
    const text = removed.map((p) => `port ${p.containerPort}${p.protocol === 'udp' ? '/udp' : ''} is no longer forwarded (was ${p.url ?? `${p.hostIp}:${p.hostPort}`})`).join('\n');
    this.output({ outcome: 'success', removed }, text);
  }
}
