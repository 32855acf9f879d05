import { Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { listVolumes } from '../../services/volume/list.js';
import { renderTable } from '../../ui/table.js';

export default class VolumeLs extends BaseCommand<typeof VolumeLs> {
  static override description = 'List volumes, with the containers that use them';
  static override aliases = ['volume:list'];
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'only print volume names' }),
  };

  async run(): Promise<void> {
    const rows = await listVolumes({ root: this.storeRoot, logger: this.logger });
    if (this.flags.json) return this.output(rows);
    if (this.flags.quiet) return this.output(null, rows.map((r) => r.name).join('\n'));
    this.output(
      null,
      renderTable(
        ['DRIVER', 'VOLUME NAME', 'CREATED', 'USED BY'],
        rows.map((r) => [r.driver, r.name, r.created.replace('T', ' ').slice(0, 19), r.containers.map((c) => c.name).join(', ')]),
      ),
    );
  }
}
