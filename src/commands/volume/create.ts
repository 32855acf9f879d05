import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { parseLabelFlags } from '../../services/container/create-options.js';
import { createVolume } from '../../services/volume/create.js';

export default class VolumeCreate extends BaseCommand<typeof VolumeCreate> {
  static override description = 'Create a named volume (containers also create one when they first mount it)';
  static override examples = ['<%= config.bin %> volume create cache --label project=web', '<%= config.bin %> container run -v cache:/cache IMAGE'];
  static override args = { name: Args.string({ required: true, description: 'volume name' }) };
  static override flags = {
    label: Flags.string({ char: 'l', multiple: true, description: 'set a label KEY=VALUE (repeatable)' }),
  };

  async run(): Promise<void> {
    const labels = parseLabelFlags(this.flags.label ?? []);
    const result = createVolume({ root: this.storeRoot, logger: this.logger }, this.args.name, { labels });
    this.output(result, result.name);
  }
}
