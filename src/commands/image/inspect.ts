import { Args } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { inspectImage } from '../../services/image/inspect.js';

export default class ImageInspect extends BaseCommand<typeof ImageInspect> {
  static override description = 'Show everything the store knows about images (manifest, config, layers), as JSON';
  static override strict = false;
  static override args = { image: Args.string({ required: true, description: 'image reference or id' }) };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const out = this.operands.map((ref) => inspectImage(ctx, ref));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  }
}
