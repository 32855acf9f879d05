import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { formatPortLine } from '../../cli/project/port-lines.js';
import { addProjectPort } from '../../services/project/project-ports.js';

export default class PortsAdd extends BaseCommand<typeof PortsAdd> {
  static override description =
    "Forward a port of the project's running dev container until it stops (to keep it, add it to forwardPorts in devcontainer.json)";
  static override usage = ['ports add PORT|HOSTPORT:PORT [--label LABEL] [--require-local-port]'];
  static override examples = ['<%= config.bin %> ports add 3000', '<%= config.bin %> ports add 8080:3000 --label web --require-local-port'];
  static override args = {
    port: Args.string({ required: true, description: 'the container port, or HOSTPORT:PORT (also IP:HOSTPORT:PORT, 0:PORT for any free host port, /udp)' }),
  };
  static override flags = {
    'workspace-folder': Flags.string({ description: 'the project folder (default: the current folder)' }),
    config: Flags.string({ description: 'devcontainer.json to use' }),
    label: Flags.string({ description: 'a name for the forward, shown by `devenv ports`' }),
    'require-local-port': Flags.boolean({ description: 'fail when the host port is taken instead of using the next free one' }),
  };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const result = await addProjectPort(
      ctx,
      { workspaceFolder: this.flags['workspace-folder'] ?? process.cwd(), ...(this.flags.config ? { configFile: this.flags.config } : {}) },
      { port: this.args.port, requireLocalPort: this.flags['require-local-port'], ...(this.flags.label !== undefined ? { label: this.flags.label } : {}) },
    );
    for (const w of result.warnings) this.logger.warn(w);
    this.output({ outcome: 'success', ...result }, result.ports.map(formatPortLine).join('\n'));
  }
}
