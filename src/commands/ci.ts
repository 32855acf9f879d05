import { Flags } from '@oclif/core';

import { BaseCommand } from '../cli/base-command.js';
import { createUpReporter } from '../cli/project/up-reporter.js';
import { DevenvError } from '../errors.js';
import { runCi } from '../services/ci.js';

export default class Ci extends BaseCommand<typeof Ci> {
  static override description =
    "Run a command in the project's environment as a CI job: up with the frozen lockfile, check the fingerprint, run the command in the workspace, remove the environment; exits with the command's code";
  static override examples = ['<%= config.bin %> ci -- npm test', '<%= config.bin %> ci --workspace-folder . --fingerprint sha256:… -- make check'];
  static override strict = false;
  static override flags = {
    'workspace-folder': Flags.string({ description: 'the project folder (default: the current folder)' }),
    config: Flags.string({ description: 'devcontainer.json to use' }),
    fingerprint: Flags.string({ description: "the environment's expected fingerprint (default: the lockfile's, if it has one)" }),
    volumes: Flags.boolean({ description: 'also remove the named volumes the container mounts' }),
  };

  async run(): Promise<void> {
    const dash = this.argv.indexOf('--');
    const command = dash === -1 ? [] : this.argv.slice(dash + 1);
    if (command.length === 0) throw new DevenvError('USAGE', 'ci: no command given', { hint: 'Usage: devenv ci [--workspace-folder DIR] -- COMMAND [ARG…]' });
    const reporter = createUpReporter('plain');
    const result = await runCi(
      { root: this.storeRoot, logger: this.logger },
      {
        workspaceFolder: this.flags['workspace-folder'] ?? process.cwd(),
        ...(this.flags.config ? { configFile: this.flags.config } : {}),
        ...(this.flags.fingerprint ? { fingerprint: this.flags.fingerprint } : {}),
        volumes: this.flags.volumes,
        command,
        hostEnv: process.env,
        reporter,
      },
    );
    if (this.flags.json) this.output({ outcome: result.exitCode === 0 ? 'success' : 'failure', ...result });
    if (result.exitCode !== 0) this.exit(result.exitCode);
  }
}
