import { DevenvError } from '../../errors.js';
import type { TemplateManifest } from './templates-catalog.js';

const PLACEHOLDER = /\$\{templateOption:([^}\s]+)\}/g;

function list(values: string[]): string {
  return values.map((v) => `\`${v}\``).join(', ');
}

/** `["image=debian:bookworm", "x=1"]` (the --option flags) → `{ image: "debian:bookworm", x: "1" }`; a later one wins. */
export function parseOptionAssignments(assignments: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const text of assignments) {
    const eq = text.indexOf('=');
    const name = eq < 0 ? '' : text.slice(0, eq).trim();
    if (name === '') {
      throw new DevenvError('USAGE', `--option \`${text}\`: expected NAME=VALUE`, {
        hint: 'Write each option as `--option image=debian:bookworm`; `devenv init --list` shows the options of each template.',
      });
    }
    out[name] = text.slice(eq + 1);
  }
  return out;
}

/**
 * The value of every option of `manifest`: the given ones (checked) and the defaults for the rest, as strings.
 * Unknown names, values outside an option's `enum`, and booleans other than true/false are usage errors.
 */
export function resolveTemplateOptions(manifest: TemplateManifest, given: Readonly<Record<string, string>>): Record<string, string> {
  const names = Object.keys(manifest.options);
  const unknown = Object.keys(given).filter((name) => !Object.hasOwn(manifest.options, name));
  if (unknown.length > 0) {
    const valid = names.length > 0 ? `valid options: ${list(names)}` : 'it has no options';
    throw new DevenvError('USAGE', `template \`${manifest.id}\` has no option ${list(unknown)} (${valid})`, {
      hint: `Run \`devenv init --list\` to see each template's options.`,
    });
  }
  const out: Record<string, string> = {};
  for (const [name, option] of Object.entries(manifest.options)) {
    const value = given[name] ?? String(option.default);
    if (option.type === 'boolean' && value !== 'true' && value !== 'false') {
      throw new DevenvError('USAGE', `template \`${manifest.id}\`: option \`${name}\` is a boolean; \`${value}\` is not true or false`, {
        hint: `Pass \`--option ${name}=true\` or \`--option ${name}=false\`.`,
      });
    }
    if (option.enum !== undefined && !option.enum.includes(value)) {
      throw new DevenvError('USAGE', `template \`${manifest.id}\`: option \`${name}\` cannot be \`${value}\` (one of ${list(option.enum)})`, {
        hint: `Pass one of the listed values, e.g. \`--option ${name}=${option.enum[0] ?? ''}\`.`,
      });
    }
    out[name] = value;
  }
  return out;
}

/** The option names `${templateOption:NAME}` placeholders in `text` refer to, in order of first use. */
export function findTemplatePlaceholders(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(PLACEHOLDER)) if (m[1] !== undefined && !out.includes(m[1])) out.push(m[1]);
  return out;
}

/**
 * Replace `${templateOption:NAME}` with the option's value. In JSON files (`json: true`) the value is escaped as
 * inside a JSON string, so a quote or backslash in a value cannot break the file. Placeholders naming no option stay.
 */
export function substituteTemplateOptions(text: string, values: Readonly<Record<string, string>>, options: { json?: boolean } = {}): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    if (!Object.hasOwn(values, name)) return whole;
    const value = values[name] ?? '';
    return options.json ? JSON.stringify(value).slice(1, -1) : value;
  });
}
