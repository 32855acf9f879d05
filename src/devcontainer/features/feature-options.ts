/**
 * Feature options → environment of its install.sh: defaults filled in, names turned into variable names by the
 * spec's rule, values quoted for `sh`. Plus the built-in `_REMOTE_USER`/`_CONTAINER_USER` variables. Pure.
 */
import type { FeatureMetadata, FeatureOptionsInput } from './feature-types.js';

/**
 * The spec's option name → variable name rule: every character that is not a letter, digit or `_` becomes `_`, a
 * leading run of digits and underscores becomes one `_`, then upper case (`version` → `VERSION`,
 * `install-tools` → `INSTALL_TOOLS`, `3d` → `_D`).
 */
export function optionEnvName(name: string): string {
  return name.replace(/[^\w]/g, '_').replace(/^[\d_]+/, '_').toUpperCase();
}

/** Option values as installed, and problems worth a warning (unknown options, values outside an enum). */
export interface FeatureOptionValues {
  values: Record<string, string | boolean>;
  warnings: string[];
}

/**
 * The values a Feature is installed with: every option's default, overridden by what was given. A string alone
 * sets the `version` option (when the Feature has one), as the devcontainer CLI does; `true` or `{}` take the
 * defaults.
 */
export function featureOptionValues(metadata: FeatureMetadata, given: FeatureOptionsInput, where: string): FeatureOptionValues {
  const options = metadata.options ?? {};
  const values: Record<string, string | boolean> = {};
  for (const [name, option] of Object.entries(options)) {
    if (option.default !== undefined) values[name] = option.default;
  }
  const warnings: string[] = [];
  let explicit: Record<string, string | boolean | undefined> = {};
  if (typeof given === 'string') {
    if (options.version) explicit = { version: given };
    else warnings.push(`${where}: the value \`${given}\` was ignored (the Feature has no \`version\` option; give an options object)`);
  } else if (typeof given === 'object' && given !== null) {
    explicit = given;
  }
  for (const [name, value] of Object.entries(explicit)) {
    if (value === undefined) continue;
    const option = options[name];
    if (!option) warnings.push(`${where}: unknown option \`${name}\` (the Feature has ${Object.keys(options).map((o) => `\`${o}\``).join(', ') || 'no options'})`);
    else if (option.enum && !option.enum.includes(String(value))) {
      warnings.push(`${where}: option \`${name}\` is \`${String(value)}\`, not one of ${option.enum.map((e) => `\`${e}\``).join(', ')}`);
    }
    values[name] = value;
  }
  return { values, warnings };
}

/** A value quoted for POSIX sh: single quotes, `'` written as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The lines of a Feature's `devcontainer-features.env`: `NAME='value'`, in option order. */
export function featureEnvLines(values: Record<string, string | boolean>): string[] {
  return Object.entries(values).map(([name, value]) => `${optionEnvName(name)}=${shellQuote(String(value))}`);
}

/** The users a Feature installs for; homes come from the base image's /etc/passwd. */
export interface FeatureUsers {
  containerUser: string;
  remoteUser: string;
  containerUserHome?: string;
  remoteUserHome?: string;
}

/** The home folder of `user` (a name or a uid) in /etc/passwd text; undefined when not listed. */
export function homeFromPasswd(passwd: string, user: string): string | undefined {
  const name = user.split(':')[0] ?? user;
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 7) continue;
    if (fields[0] === name || fields[2] === name) return fields[5];
  }
  return undefined;
}

/** The built-in variables every install.sh sees (`devcontainer-features.builtin.env`). */
export function builtinEnvLines(users: FeatureUsers): string[] {
  return [
    `_CONTAINER_USER=${shellQuote(users.containerUser)}`,
    `_REMOTE_USER=${shellQuote(users.remoteUser)}`,
    ...(users.containerUserHome !== undefined ? [`_CONTAINER_USER_HOME=${shellQuote(users.containerUserHome)}`] : []),
    ...(users.remoteUserHome !== undefined ? [`_REMOTE_USER_HOME=${shellQuote(users.remoteUserHome)}`] : []),
  ];
}
