import { Flags } from '@oclif/core';

import { BaseCommand } from '../cli/base-command.js';
import { lockEnvironment } from '../services/features/environment.js';

export default class Lock extends BaseCommand<typeof Lock> {
  static override description =
    "Pin the project's Features and base image by digest in devcontainer-lock.json (the devcontainer CLI's format, plus devenv's base image pin and fingerprint)";
  static override flags = {
    'workspace-folder': Flags.string({ description: 'the project folder (default: the current folder)' }),
    config: Flags.string({ description: 'devcontainer.json to use' }),
  };

  async run(): Promise<void> {
    const ctx = { root: this.storeRoot, logger: this.logger };
    const result = await lockEnvironment(ctx, {
      workspaceFolder: this.flags['workspace-folder'] ?? process.cwd(),
      ...(this.flags.config ? { configFile: this.flags.config } : {}),
      hostEnv: process.env,
      reporter: { progress: (m) => this.logger.info(m), warn: (m) => process.stderr.write(`Warning: ${m}\n`) },
    });
    if (!this.flags.json) for (const w of result.warnings) process.stderr.write(`Warning: ${w}\n`);
    const lines = [
      `${result.written ? 'Wrote' : 'Unchanged:'} ${result.lockfile}`,
      ...result.features.map((f) => `  ${f.reference} → ${f.resolved}${f.version ? ` (${f.version})` : ''}`),
      ...(result.baseImage ? [`  image ${result.baseImage.reference} → ${result.baseImage.resolved}`] : []),
      `  fingerprint ${result.fingerprint}`,
    ];
    this.output({ outcome: 'success', ...result }, lines.join('\n'));
  }
}
