import { createInterface } from 'node:readline';

import { Flags } from '@oclif/core';

import { BaseCommand } from '../cli/base-command.js';
import { DevenvError } from '../errors.js';
import { initProject, listTemplates, type InitResult, type TemplateSummary } from '../services/project/init-project.js';
import { parseOptionAssignments } from '../services/project/templates-options.js';

const DEFAULT_TEMPLATE = 'debian';

/** `--list` as text: one line per template, its options (default, or the enum's values) below it. */
export function formatTemplateList(templates: TemplateSummary[]): string {
  const idWidth = Math.max(...templates.map((t) => t.id.length), 2);
  const lines: string[] = [];
  for (const t of templates) {
    lines.push(`${t.id.padEnd(idWidth)}  ${t.name}${t.description ? ` — ${t.description}` : ''}`);
    for (const [name, option] of Object.entries(t.options)) {
      const values = option.enum ? option.enum.join('|') : String(option.default);
      lines.push(`${' '.repeat(idWidth)}    --option ${name}=${values}${option.enum ? ` (default ${String(option.default)})` : ''}`);
    }
  }
  return lines.join('\n');
}

function formatInitResult(result: InitResult): string {
  const lines = [`Created a ${result.template.name} dev container configuration in ${result.workspaceFolder}:`];
  for (const file of result.files) lines.push(`  ${file}${result.overwritten.includes(file) ? ' (replaced)' : ''}`);
  const image = result.options.image;
  if (image !== undefined) lines.push(`Image: ${image}`);
  return lines.join('\n');
}

/** The numbered chooser shown on a terminal when no --template was given; prompts on stderr. */
async function chooseTemplate(templates: TemplateSummary[]): Promise<string> {
  const fallback = templates.findIndex((t) => t.id === DEFAULT_TEMPLATE);
  const defaultIndex = fallback >= 0 ? fallback : 0;
  const width = Math.max(...templates.map((t) => t.id.length));
  const menu = templates.map((t, i) => `  ${String(i + 1).padStart(2)}) ${t.id.padEnd(width)}  ${t.name}`).join('\n');
  process.stderr.write(`Choose a dev container template:\n${menu}\n`);
  const prompt = `Template [1-${templates.length}, default ${defaultIndex + 1}: ${templates[defaultIndex]?.id}]: `;
  // Lines read by iterating (not rl.question) are buffered, so typed-ahead or pasted answers are not lost.
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  rl.once('SIGINT', () => rl.close()); // Ctrl-C: no choice
  try {
    let tries = 0;
    rl.setPrompt(prompt);
    rl.prompt();
    for await (const line of rl) {
      const answer = line.trim();
      if (answer === '') return templates[defaultIndex]?.id ?? DEFAULT_TEMPLATE;
      const byNumber = /^\d+$/.test(answer) ? templates[Number(answer) - 1] : undefined;
      const chosen = byNumber ?? templates.find((t) => t.id === answer);
      if (chosen) return chosen.id;
      tries += 1;
      if (tries >= 3) break;
      process.stderr.write(`\`${answer}\` is not one of the templates; type its number or id.\n`);
      rl.prompt();
    }
  } finally {
    rl.close();
  }
  throw new DevenvError('USAGE', 'init: no template chosen', { hint: 'Pass --template ID (`devenv init --list` shows them).' });
}

export default class Init extends BaseCommand<typeof Init> {
  static override description = 'Create .devcontainer/devcontainer.json for a project from a Dev Container Template';
  static override examples = [
    '<%= config.bin %> init --list',
    '<%= config.bin %> init --template node',
    '<%= config.bin %> init --template debian --option image=debian:bookworm --workspace-folder ./my-project',
  ];
  static override flags = {
    template: Flags.string({ char: 't', description: 'template id (see --list), or a folder holding a devcontainer-template.json' }),
    option: Flags.string({ char: 'o', multiple: true, description: 'template option as NAME=VALUE (repeatable)' }),
    'workspace-folder': Flags.string({ description: 'project folder to write into (default: the current directory)' }),
    force: Flags.boolean({ char: 'f', description: 'overwrite an existing devcontainer configuration', default: false }),
    list: Flags.boolean({ char: 'l', description: 'list the templates and their options', default: false }),
  };

  async run(): Promise<void> {
    if (this.flags.list) {
      const templates = listTemplates();
      this.output(templates, formatTemplateList(templates));
      return;
    }
    const options = parseOptionAssignments(this.flags.option ?? []);
    let template = this.flags.template;
    if (template === undefined) {
      if (!process.stdin.isTTY) {
        throw new DevenvError('USAGE', 'init: no --template given and no terminal to choose one on', {
          hint: 'Pass --template ID, e.g. `devenv init --template debian` (`devenv init --list` shows them).',
        });
      }
      template = await chooseTemplate(listTemplates());
    }
    const result = initProject({
      workspaceFolder: this.flags['workspace-folder'] ?? process.cwd(),
      template,
      options,
      force: this.flags.force,
    });
    this.output(result, formatInitResult(result));
  }
}
