import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { ARCHIVE_FORMATS } from '../../image/archive/archive-types.js';
import { exportImages } from '../../services/image/export.js';

export default class ImageExport extends BaseCommand<typeof ImageExport> {
  static override description = 'Write an image to an archive: oci-archive (default), docker-archive (for docker load) or an OCI layout directory';
  static override aliases = ['image:save'];
  static override examples = [
    '<%= config.bin %> image export debian:bookworm -o debian.tar',
    '<%= config.bin %> image export busybox --format docker-archive -o busybox.tar',
  ];
  static override args = { image: Args.string({ required: true, description: 'image reference or id' }) };
  static override flags = {
    output: Flags.string({ char: 'o', required: true, description: 'file to write (a directory for oci-dir)' }),
    format: Flags.option({ options: ARCHIVE_FORMATS, default: 'oci-archive' as const, description: 'archive format' })(),
  };

  async run(): Promise<void> {
    const result = await exportImages({ root: this.storeRoot, logger: this.logger }, [this.args.image], {
      output: this.flags.output,
      format: this.flags.format,
    });
    const names = result.images.flatMap((i) => i.names);
    this.output(result, `Exported ${names.length > 0 ? names.join(', ') : this.args.image} to ${result.path} (${result.format}, ${result.bytes} bytes)`);
  }
}
