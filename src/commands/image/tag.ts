import { Args } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { tagImage } from '../../services/image/tag.js';

export default class ImageTag extends BaseCommand<typeof ImageTag> {
  static override description = 'Give an image another name (TARGET refers to SOURCE)';
  static override examples = ['<%= config.bin %> image tag debian:bookworm my/base:1'];
  static override args = {
    source: Args.string({ required: true, description: 'image reference or id' }),
    target: Args.string({ required: true, description: 'new reference, name[:tag]' }),
  };

  async run(): Promise<void> {
    const result = await tagImage({ root: this.storeRoot, logger: this.logger }, this.args.source, this.args.target);
    this.output(result);
  }
}
