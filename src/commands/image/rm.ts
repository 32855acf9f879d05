import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { removeImages } from '../../services/image/remove.js';

export default class ImageRm extends BaseCommand<typeof ImageRm> {
  static override description = 'Remove images: untag them and delete the content nothing else needs';
  static override aliases = ['image:remove', 'rmi'];
  static override strict = false;
  static override args = { image: Args.string({ required: true, description: 'image reference or id' }) };
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'remove even if containers use it (its content stays until they are removed)' }),
  };

  async run(): Promise<void> {
    const refs = this.operands;
    const result = await removeImages({ root: this.storeRoot, logger: this.logger }, refs, { force: this.flags.force });
    this.output(result, [...result.untagged.map((r) => `Untagged: ${r}`), ...result.deleted.map((d) => `Deleted: ${d}`)].join('\n'));
  }
}
