import { Flags } from '@oclif/core';

import { BaseCommand } from '../cli/base-command.js';
import { loadProject } from '../devcontainer/config/load-project.js';
import { pushImage } from '../services/image/push.js';
import { buildDevcontainerImage } from '../services/features/build-devcontainer-image.js';

export default class Build extends BaseCommand<typeof Build> {
  static override description =
    "Build the project's dev container image (its image or Dockerfile, its Features, and a devcontainer.metadata label with the config's settings), optionally naming and pushing it";
  static override examples = ['<%= config.bin %> build', '<%= config.bin %> build --image-name ghcr.io/me/app:1 --push'];
  static override flags = {
    'workspace-folder': Flags.string({ description: 'the project folder (default: the current folder)' }),
    config: Flags.string({ description: 'devcontainer.json to use' }),
    'image-name': Flags.string({ multiple: true, multipleNonGreedy: true, default: [], description: 'also name the image (repeatable)' }),
    'no-cache': Flags.boolean({ default: false, description: 'run every step instead of using cached layers' }),
    push: Flags.boolean({ default: false, description: 'push every --image-name to its registry' }),
  };

  async run(): Promise<void> {
    const f = this.flags;
    const ctx = { root: this.storeRoot, logger: this.logger };
    const project = loadProject({ workspaceFolder: f['workspace-folder'] ?? process.cwd(), hostEnv: process.env, ...(f.config ? { configFile: f.config } : {}) });
    for (const w of project.warnings) this.logger.warn(w);
    const json = f.json;
    const say = (text: string): void => {
      process.stderr.write(json ? `${JSON.stringify({ type: 'progress', message: text })}\n` : `› ${text}\n`);
    };
    const result = await buildDevcontainerImage(
      ctx,
      project,
      {
        step: say,
        warn: (m) => process.stderr.write(json ? `${JSON.stringify({ type: 'warning', message: m })}\n` : `warning: ${m}\n`),
        line: (text, stream) => process.stderr.write(json ? `${JSON.stringify({ type: 'output', stream, text })}\n` : `${text}\n`),
      },
      { imageNames: f['image-name'], noCache: f['no-cache'] },
    );
    const pushed: string[] = [];
    if (f.push) {
      if (f['image-name'].length === 0) this.logger.warn('--push without --image-name: nothing to push (the default tag is local)');
      for (const name of f['image-name']) {
        say(`Pushing ${name}`);
        const r = await pushImage(ctx, name);
        pushed.push(r.reference);
      }
    }
    this.output({ outcome: 'success', ...result, pushed }, [`Built ${result.imageId.slice(7, 19)}`, ...result.references.map((r) => `Tagged ${r}`), ...pushed.map((p) => `Pushed ${p}`)].join('\n'));
  }
}
