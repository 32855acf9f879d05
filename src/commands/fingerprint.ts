import { Flags } from '@oclif/core';

import { BaseCommand } from '../cli/base-command.js';
import { fingerprintProject } from '../services/features/environment.js';

export default class Fingerprint extends BaseCommand<typeof Fingerprint> {
  static override description =
    'Print one digest of the fully resolved environment (base image digest, Feature digests and options in install order, the merged config without machine-specific parts)';
  static override flags = {
    'workspace-folder': Flags.string({ description: 'the project folder (default: the current folder)' }),
    config: Flags.string({ description: 'devcontainer.json to use' }),
  };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const result = await fingerprintProject(ctx, {
      workspaceFolder: this.flags['workspace-folder'] ?? process.cwd(),
      ...(this.flags.config ? { configFile: this.flags.config } : {}),
      hostEnv: process.env,
      reporter: { progress: (m) => this.logger.info(m), warn: (m) => process.stderr.write(`Warning: ${m}\n`) },
    });
    if (!this.flags.json) for (const w of result.warnings) process.stderr.write(`Warning: ${w}\n`);
    this.output({ outcome: 'success', fingerprint: result.fingerprint, configFile: result.configFile, document: result.document }, result.fingerprint);
  }
}
