import { Args } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { pushImage } from '../../services/image/push.js';

export default class ImagePush extends BaseCommand<typeof ImagePush> {
  static override description = 'Upload an image to a registry (to DESTINATION, or under the reference it is stored by)';
  static override examples = [
    '<%= config.bin %> image push 127.0.0.1:5000/my/app:1',
    '<%= config.bin %> image push my/app:1 ghcr.io/owner/app:1',
  ];
  static override args = {
    image: Args.string({ required: true, description: 'image reference or id' }),
    destination: Args.string({ description: 'registry/repository[:tag] to push to' }),
  };

  async run(): Promise<void> {
    const log = this.flags.json ? undefined : (line: string): void => void process.stderr.write(`${line}\n`);
    const result = await pushImage({ root: this.storeRoot, logger: this.logger }, this.args.image, {
      ...(this.args.destination === undefined ? {} : { destination: this.args.destination }),
      onProgress: (event) => {
        const short = event.digest.slice('sha256:'.length, 'sha256:'.length + 12);
        if (event.status === 'exists') log?.(`${short}: already exists`);
        else if (event.status === 'pushed') log?.(`${short}: pushed`);
      },
    });
    this.output(result, `${result.reference}: digest: ${result.manifestDigest}`);
  }
}
