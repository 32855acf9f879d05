import { Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { DevenvError } from '../../errors.js';
import { pruneVolumes } from '../../services/volume/prune.js';

/** Ask a yes/no question on the terminal (stderr: stdout may be JSON); anything but y/yes is no. */
async function confirm(question: string): Promise<boolean> {
  process.stderr.write(question);
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, terminal: false });
  return new Promise((resolve) => {
    rl.once('line', (line) => {
      rl.close();
      resolve(/^y(es)?$/i.test(line.trim()));
    });
    rl.once('close', () => resolve(false));
  });
}

export default class VolumePrune extends BaseCommand<typeof VolumePrune> {
  static override description = 'Remove the anonymous volumes no container uses (with --all, the named ones too)';
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'also remove named volumes no container uses' }),
    force: Flags.boolean({ char: 'f', description: 'do not ask for confirmation (required when stdin is not a terminal)' }),
  };

  async run(): Promise<void> {
    if (!this.flags.force) {
      if (!process.stdin.isTTY) {
        throw new DevenvError('USAGE', 'volume prune: stdin is not a terminal, so it cannot ask before removing volumes', {
          hint: 'Add --force to remove them without asking.',
        });
      }
      const what = this.flags.all ? 'all local volumes' : 'all anonymous local volumes';
      const yes = await confirm(`WARNING! This will remove ${what} not used by at least one container.\nAre you sure you want to continue? [y/N] `);
      if (!yes) {
        this.output({ removed: [] }, 'Nothing removed.');
        return;
      }
    }
    const result = await pruneVolumes({ root: this.storeRoot, logger: this.logger }, { all: this.flags.all });
    this.output(result, result.removed.length > 0 ? `Deleted Volumes:\n${result.removed.join('\n')}` : 'No volumes to remove.');
  }
}
