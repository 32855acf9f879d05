import { BaseCommand } from '../cli/base-command.js';
import { renderTable } from '../ui/table.js';
import { listEnvironments } from '../services/project/ps.js';

export default class Ps extends BaseCommand<typeof Ps> {
  static override description = 'List every dev container on this machine: folder, state, image, ports';

  async run(): Promise<void> {
    const envs = listEnvironments({ root: this.storeRoot, logger: this.logger });
    // running: the forwards in place, as `docker ps` prints them; otherwise forwardPorts as configured
    const ports = (e: (typeof envs)[number]): string =>
      e.forwardedPorts
        ? e.forwardedPorts.map((p) => `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ')
        : e.ports.join(', ');
    const rows = envs.map((e) => [e.name, e.status, e.workspaceFolder, e.image, ports(e)]);
    this.output(envs, renderTable(['NAME', 'STATUS', 'FOLDER', 'IMAGE', 'PORTS'], rows));
  }
}
