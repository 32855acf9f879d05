import { DevenvError } from '../errors.js';

/**
 * Docker-style argument parsing for commands whose trailing words are another program's command line
 * (`devenv container run [FLAGS] ROOTFS|IMAGE [COMMAND [ARG…]]`): flags are read only up to the first
 * positional, so `sh -c 'exit 7'` reaches the container untouched. oclif's parser reads flags anywhere,
 * which would steal the `-c`; these commands therefore parse their raw argv with this module.
 */
export interface ArgSpec {
  /** Long name without dashes, e.g. `memory`. */
  name: string;
  short?: string;
  /** `boolean` takes no value; `string` one; `multiple` may repeat and collects every value. */
  type: 'boolean' | 'string' | 'multiple';
  description: string;
  /** Other long names accepted for the same flag (e.g. `mount` for `volume`). */
  aliases?: string[];
  /** Allowed values, checked here so the error names the flag. */
  options?: readonly string[];
  default?: string | boolean;
  helpGroup?: string;
}

export type ParsedFlags = Record<string, string | boolean | string[] | undefined>;

export interface ParsedArgs {
  flags: ParsedFlags;
  /** Positionals: the first one ends flag parsing; the rest is passed through verbatim. */
  positionals: string[];
}

export interface ParseOptions {
  /** How many positionals are read as devenv's own before the pass-through part starts (default 1). */
  leadingPositionals?: number;
  command: string;
}

function usage(command: string, message: string): DevenvError {
  return new DevenvError('USAGE', `${command}: ${message}`, { hint: `Run \`devenv ${command} --help\` for usage.` });
}

export function parseDockerArgs(argv: readonly string[], specs: readonly ArgSpec[], options: ParseOptions): ParsedArgs {
  const byLong = new Map<string, ArgSpec>();
  const byShort = new Map<string, ArgSpec>();
  for (const spec of specs) {
    byLong.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) byLong.set(alias, spec);
    if (spec.short) byShort.set(spec.short, spec);
  }
  const flags: ParsedFlags = {};
  for (const spec of specs) {
    if (spec.default !== undefined) flags[spec.name] = spec.default;
    else if (spec.type === 'multiple') flags[spec.name] = [];
  }
  const leading = options.leadingPositionals ?? 1;
  const positionals: string[] = [];

  const assign = (spec: ArgSpec, value: string | boolean, shown: string): void => {
    if (spec.type === 'boolean') {
      flags[spec.name] = value;
      return;
    }
    if (typeof value !== 'string') throw usage(options.command, `flag ${shown} needs a value`);
    if (spec.options && !spec.options.includes(value)) {
      throw usage(options.command, `invalid value \`${value}\` for ${shown}: expected one of ${spec.options.join(', ')}`);
    }
    if (spec.type === 'multiple') (flags[spec.name] as string[]).push(value);
    else flags[spec.name] = value;
  };

  let i = 0;
  while (i < argv.length) {
    const word = argv[i] as string;
    if (positionals.length >= leading) {
      positionals.push(...argv.slice(i));
      break;
    }
    if (word === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq === -1 ? word.slice(2) : word.slice(2, eq);
      const spec = byLong.get(name);
      if (!spec) throw usage(options.command, `unknown flag --${name}`);
      if (spec.type === 'boolean') {
        if (eq === -1) assign(spec, true, `--${name}`);
        else {
          const raw = word.slice(eq + 1);
          if (raw !== 'true' && raw !== 'false') throw usage(options.command, `--${name} takes true or false, not \`${raw}\``);
          assign(spec, raw === 'true', `--${name}`);
        }
        i += 1;
        continue;
      }
      if (eq !== -1) {
        assign(spec, word.slice(eq + 1), `--${name}`);
        i += 1;
      } else {
        if (i + 1 >= argv.length) throw usage(options.command, `flag --${name} needs a value`);
        assign(spec, argv[i + 1] as string, `--${name}`);
        i += 2;
      }
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      // Bundled short flags: `-it`, `-dit`, `-eFOO=bar`, `-e FOO=bar`.
      let j = 1;
      let consumedNext = false;
      while (j < word.length) {
        const letter = word[j] as string;
        const spec = byShort.get(letter);
        if (!spec) throw usage(options.command, `unknown flag -${letter}`);
        if (spec.type === 'boolean') {
          assign(spec, true, `-${letter}`);
          j += 1;
          continue;
        }
        const rest = word.slice(j + 1);
        if (rest.length > 0) assign(spec, rest.startsWith('=') ? rest.slice(1) : rest, `-${letter}`);
        else {
          if (i + 1 >= argv.length) throw usage(options.command, `flag -${letter} needs a value`);
          assign(spec, argv[i + 1] as string, `-${letter}`);
          consumedNext = true;
        }
        break;
      }
      i += consumedNext ? 2 : 1;
      continue;
    }
    positionals.push(word);
    i += 1;
  }
  return { flags, positionals };
}

/** Render specs as help text lines (used by the fast path's --help fallback and docs). */
export function formatArgSpecs(specs: readonly ArgSpec[]): string {
  return specs
    .map((s) => {
      const names = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.type === 'boolean' ? '' : ' VALUE'}`;
      return `  ${names.padEnd(32)} ${s.description}`;
    })
    .join('\n');
}
