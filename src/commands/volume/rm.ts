import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { removeVolumes } from '../../services/volume/remove.js';

export default class VolumeRm extends BaseCommand<typeof VolumeRm> {
  static override description = 'Remove volumes and their data (never one a container uses: remove the container first)';
  static override aliases = ['volume:remove'];
  static override strict = false;
  static override args = { volume: Args.string({ required: true, description: 'volume name' }) };
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'do not fail on volumes that do not exist' }),
  };

  async run(): Promise<void> {
    // The positional arguments as oclif parsed them (a flag's value, e.g. `--root DIR`, is not a name).
    const names = (await this.parse(VolumeRm)).argv as string[];
    const result = await removeVolumes({ root: this.storeRoot, logger: this.logger }, names, { force: this.flags.force });
    this.output(result, result.removed.join('\n'));
  }
}
