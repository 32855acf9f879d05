import { Flags } from '@oclif/core';

import { BaseCommand } from '../cli/base-command.js';
import { listProjectPorts } from '../services/project/project-ports.js';
import { renderTable } from '../ui/table.js';

export default class Ports extends BaseCommand<typeof Ports> {
  static override description = "List the port forwards of the project's running dev container (from devcontainer.json, `ports add`, or found automatically)";
  static override examples = ['<%= config.bin %> ports', '<%= config.bin %> ports --json', '<%= config.bin %> ports add 8080:3000 --label web', '<%= config.bin %> ports rm 3000'];
  static override flags = {
    'workspace-folder': Flags.string({ description: 'the project folder (default: the current folder)' }),
    config: Flags.string({ description: 'devcontainer.json to use' }),
  };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const list = listProjectPorts(ctx, { workspaceFolder: this.flags['workspace-folder'] ?? process.cwd(), ...(this.flags.config ? { configFile: this.flags.config } : {}) });
    let text: string;
    if (!list.available) {
      text = list.network === 'host'
        ? `${list.containerName} uses the host network: its servers are reachable on the host as they are`
        : `${list.containerName} forwards no ports`;
    } else if (list.ports.length === 0) {
      text = `No ports forwarded${list.autoForward ? ' (ports that servers in the container start listening on are forwarded automatically)' : ''}`;
    } else {
      const rows = list.ports.map((p) => [
        `${p.containerPort}/${p.protocol}`,
        p.hostIps.join(', '),
        String(p.hostPort),
        p.label ?? '',
        p.source,
        p.url ?? '',
      ]);
      text = renderTable(['CONTAINER PORT', 'HOST ADDRESS', 'HOST PORT', 'LABEL', 'SOURCE', 'URL'], rows);
    }
    this.output(list, text);
  }
}
