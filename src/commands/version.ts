import { BaseCommand } from '../cli/base-command.js';

export default class Version extends BaseCommand<typeof Version> {
  static override description = 'Print the devenv version';

  async run(): Promise<void> {
    const version = this.config.version;
    this.output({ version, node: process.version }, `devenv ${version}`);
  }
}
