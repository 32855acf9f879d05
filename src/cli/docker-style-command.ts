import { Command, Flags, type Interfaces } from '@oclif/core';

import type { ArgSpec } from './docker-args.js';

/** oclif flag definitions generated from docker-style specs, so `--help` documents exactly what is parsed. */
export function toOclifFlags(specs: readonly ArgSpec[]): Interfaces.FlagInput {
  const out: Interfaces.FlagInput = {};
  for (const s of specs) {
    if (s.name === 'help') continue;
    const common = {
      description: s.description,
      ...(s.short ? { char: s.short as 'a' } : {}),
      ...(s.aliases ? { aliases: s.aliases } : {}),
      ...(s.helpGroup ? { helpGroup: s.helpGroup } : {}),
    };
    out[s.name] =
      s.type === 'boolean'
        ? Flags.boolean(common)
        : s.type === 'multiple'
          ? Flags.string({ ...common, multiple: true })
          : Flags.string({ ...common, ...(s.options ? { options: [...s.options] } : {}) });
  }
  return out;
}

/**
 * Base of commands whose trailing words belong to the container's command line (run, create, exec). oclif
 * only routes and documents them; their raw argv is parsed by docker-args so `sh -c …` is passed through.
 */
export abstract class DockerStyleCommand extends Command {
  static override strict = false;

  protected abstract main(argv: readonly string[]): Promise<number>;

  async run(): Promise<void> {
    const code = await this.main(this.argv);
    process.exitCode = code;
  }
}
