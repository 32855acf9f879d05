import { Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { pruneImages } from '../../services/image/prune.js';
import { formatBytes } from '../../ui/pull-progress.js';

export default class ImagePrune extends BaseCommand<typeof ImagePrune> {
  static override description = 'Remove content no image needs, partial downloads, and with --all every image no container uses';
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'also remove images no container uses' }),
    force: Flags.boolean({ char: 'f', description: 'accepted for Docker compatibility (devenv never asks)' }),
  };

  async run(): Promise<void> {
    const result = await pruneImages({ root: this.storeRoot, logger: this.logger }, { all: this.flags.all });
    const lines = [
      ...result.untagged.map((r) => `Untagged: ${r}`),
      ...[...result.blobsRemoved, ...result.layersRemoved].map((d) => `Deleted: ${d}`),
      `Total reclaimed space: ${formatBytes(result.bytesFreed)}`,
    ];
    this.output(result, lines.join('\n'));
  }
}
