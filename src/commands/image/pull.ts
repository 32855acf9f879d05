import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { familiarName, parseImageReference } from '../../image/reference.js';
import { parsePlatform } from '../../image/registry/platform.js';
import { pullImage } from '../../services/image/pull.js';

export default class ImagePull extends BaseCommand<typeof ImagePull> {
  static override description = 'Download an image (manifest, config and layers) from a registry into the store';
  static override examples = ['<%= config.bin %> image pull debian:bookworm', '<%= config.bin %> image pull --platform linux/arm64 alpine'];
  static override args = { image: Args.string({ required: true, description: 'image reference, e.g. debian:bookworm or ghcr.io/owner/app@sha256:…' }) };
  static override flags = {
    platform: Flags.string({ description: 'os/arch[/variant] to pick from a multi-platform image (default: this host)' }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the reference' }),
  };

  async run(): Promise<void> {
    const platform = this.flags.platform === undefined ? undefined : parsePlatform(this.flags.platform);
    const mode = this.flags.json ? 'json' : this.flags.quiet ? 'quiet' : process.stdout.isTTY ? 'tty' : 'plain';
    const { createPullProgressReporter } = await import('../../ui/pull-progress.js');
    const reporter = await createPullProgressReporter(mode);
    let result;
    try {
      result = await pullImage({ root: this.storeRoot, logger: this.logger }, this.args.image, {
        ...(platform ? { platform } : {}),
        onProgress: (event) => reporter.onProgress(event),
      });
    } finally {
      await reporter.stop();
    }
    const name = familiarName(parseImageReference(result.reference));
    const status = result.upToDate ? `Image is up to date for ${name}` : `Downloaded newer image for ${name}`;
    this.output(result, this.flags.quiet ? result.reference : `Digest: ${result.indexDigest ?? result.manifestDigest}\nStatus: ${status}\n${result.reference}`);
  }
}
