import { Args } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { inspectVolumes } from '../../services/volume/list.js';

export default class VolumeInspect extends BaseCommand<typeof VolumeInspect> {
  static override description = 'Show volumes (mount point, labels, the containers that use them), as JSON';
  static override strict = false;
  static override args = { volume: Args.string({ required: true, description: 'volume name' }) };

  async run(): Promise<void> {
    // The positional arguments as oclif parsed them (a flag's value, e.g. `--root DIR`, is not a name).
    const names = (await this.parse(VolumeInspect)).argv as string[];
    const out = await inspectVolumes({ root: this.storeRoot, logger: this.logger }, names);
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  }
}
