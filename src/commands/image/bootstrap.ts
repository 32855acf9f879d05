import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { familiarName, parseImageReference } from '../../image/reference.js';
import { BOOTSTRAP_VARIANTS, DEFAULT_DEBIAN_MIRROR } from '../../services/image/bootstrap-host.js';
import { bootstrapImage, type BootstrapResult } from '../../services/image/bootstrap.js';

function formatResult(result: BootstrapResult): string {
  const name = familiarName(parseImageReference(result.reference));
  if (result.alreadyPresent) return `Image ${name} is already in the store (${result.manifestDigest}); pass --force to build it again.`;
  const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
  const layer = result.layer ? ` (layer ${mb(result.layer.size)}, ${mb(result.layer.tarSize)} unpacked)` : '';
  return `Bootstrapped ${name}: Debian ${result.suite} ${result.variant ?? ''} ${result.platform ?? ''}${layer} in ${(result.durationMs / 1000).toFixed(0)} s\nDigest: ${result.manifestDigest}\n${result.reference}`;
}

export default class ImageBootstrap extends BaseCommand<typeof ImageBootstrap> {
  static override description =
    'Build a Debian base image with debootstrap from a Debian mirror and store it (for `image: debian:bookworm` without Docker Hub)';
  static override examples = [
    '<%= config.bin %> image bootstrap',
    '<%= config.bin %> image bootstrap debian:trixie',
    '<%= config.bin %> image bootstrap debian:bookworm --mirror http://apt-cacher.internal:3142/debian --tag registry.internal/debian:bookworm',
  ];
  static override args = {
    image: Args.string({ description: 'distribution and suite to build, as an image name: debian:bookworm (default), debian:trixie, debian:12', default: 'debian:bookworm' }),
  };
  static override flags = {
    mirror: Flags.string({ description: `Debian mirror to download from (default ${DEFAULT_DEBIAN_MIRROR}; http_proxy and apt's proxy are honoured)` }),
    variant: Flags.option({ options: BOOTSTRAP_VARIANTS, default: 'minbase' as const, description: 'debootstrap variant: minbase (like Docker\'s debian image), buildd, or default (Priority: important)' })(),
    tag: Flags.string({ description: 'reference to store the image under (default: the image argument, e.g. docker.io/library/debian:bookworm)' }),
    force: Flags.boolean({ char: 'f', description: 'build even when the store already has the image, and replace it', default: false }),
    'no-cache': Flags.boolean({ description: 'download the packages again instead of using the cached package tarball', default: false }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress lines', default: false }),
  };

  async run(): Promise<void> {
    const quiet = this.flags.quiet;
    const result = await bootstrapImage(
      { root: this.storeRoot, logger: this.logger },
      {
        target: this.args.image,
        variant: this.flags.variant,
        force: this.flags.force,
        refresh: this.flags['no-cache'],
        ...(this.flags.mirror === undefined ? {} : { mirror: this.flags.mirror }),
        ...(this.flags.tag === undefined ? {} : { tag: this.flags.tag }),
        onProgress: (event) => {
          if (!quiet) process.stderr.write(`[${event.stage}] ${event.message}\n`);
        },
      },
    );
    this.output(result, quiet ? result.reference : formatResult(result));
  }
}
