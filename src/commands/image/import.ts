import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { familiarName, parseImageReference } from '../../image/reference.js';
import { parsePlatform } from '../../image/registry/platform.js';
import { importImage } from '../../services/image/import.js';

export default class ImageImport extends BaseCommand<typeof ImageImport> {
  static override description = 'Load images from an archive: oci-archive, docker-archive (docker save) or an OCI layout directory';
  static override aliases = ['image:load'];
  static override examples = [
    '<%= config.bin %> image import busybox.tar',
    '<%= config.bin %> image import ./layout --name my/busybox:1',
  ];
  static override args = { archive: Args.string({ required: true, description: 'archive file (.tar, .tar.gz) or OCI layout directory' }) };
  static override flags = {
    name: Flags.string({ description: 'reference to name the image by (overrides the names in the archive)' }),
    platform: Flags.string({ description: 'os/arch[/variant] to pick from a multi-platform archive (default: this host)' }),
  };

  async run(): Promise<void> {
    const platform = this.flags.platform === undefined ? undefined : parsePlatform(this.flags.platform);
    const result = await importImage({ root: this.storeRoot, logger: this.logger }, this.args.archive, {
      ...(this.flags.name === undefined ? {} : { name: this.flags.name }),
      ...(platform ? { platform } : {}),
    });
    const lines = result.images.flatMap((image) => image.references.map((r) => `Loaded image: ${familiarName(parseImageReference(r))}`));
    this.output(result, lines.join('\n'));
  }
}
