import { Args } from '@oclif/core';

import { BaseCommand } from '../cli/base-command.js';
import { logoutRegistry } from '../services/image/login.js';

export default class Logout extends BaseCommand<typeof Logout> {
  static override description = "Remove a registry's credentials from devenv's auth.json";
  static override examples = ['<%= config.bin %> logout ghcr.io'];
  static override args = { server: Args.string({ description: 'registry (default docker.io)', default: 'docker.io' }) };

  async run(): Promise<void> {
    const result = await logoutRegistry({ root: this.storeRoot, logger: this.logger }, this.args.server);
    this.output(result, result.removed ? `Removed login credentials for ${result.registry}` : `Not logged in to ${result.registry}`);
  }
}
