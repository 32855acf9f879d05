import { Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { listContainers } from '../../services/container/list.js';
import { renderTable } from '../../ui/table.js';

export default class ContainerLs extends BaseCommand<typeof ContainerLs> {
  static override description = 'List containers (running ones unless --all)';
  static override aliases = ['container:ps', 'container:list'];
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'show all containers, not only running ones' }),
    quiet: Flags.boolean({ char: 'q', description: 'only print ids' }),
  };

  async run(): Promise<void> {
    const rows = listContainers({ root: this.storeRoot, logger: this.logger }, { all: this.flags.all });
    if (this.flags.json) return this.output(rows);
    if (this.flags.quiet) return this.output(null, rows.map((r) => r.id.slice(0, 12)).join('\n'));
    this.output(
      null,
      renderTable(
        ['CONTAINER ID', 'NAME', 'COMMAND', 'CREATED', 'STATUS'],
        rows.map((r) => [r.id.slice(0, 12), r.name, JSON.stringify(r.command.join(' ').slice(0, 30)), r.created.replace('T', ' ').slice(0, 19), r.statusText]),
      ),
    );
  }
}
