/**
 * `${…}` variables in devcontainer.json, resolved as the devcontainer CLI resolves them (its behaviour is the
 * reference where the spec is silent):
 * - every string value is rewritten, deeply through arrays and objects; object keys are left alone;
 * - `${name:arg1:arg2…}` is split on `:`; for env lookups arg1 is the variable and arg2 the default (further
 *   `:` parts are dropped, so a default cannot contain `:`); a missing variable without default becomes "";
 * - a variable that is not resolved in this pass (unknown, or resolved in a later one) stays as written;
 * - substituted text is not rescanned within a pass, so values with `$`, quotes, spaces or `\` pass unchanged.
 * Passes: local (`localEnv`/`env`, `localWorkspaceFolder[Basename]`, `containerWorkspaceFolder[Basename]`), then
 * `devcontainerId`, then — once the container exists — `containerEnv`.
 */
import { basename, posix } from 'node:path';

import { DevenvError } from '../../errors.js';

/** What the local pass knows. Unset folders leave their variables as written. */
export interface LocalSubstitutionContext {
  /** The host environment, for `${localEnv:…}` and `${env:…}`. */
  env: NodeJS.ProcessEnv;
  localWorkspaceFolder?: string;
  /** May itself contain local variables (e.g. `/workspaces/${localWorkspaceFolderBasename}`); they are resolved first. */
  containerWorkspaceFolder?: string;
  /** When set, `${devcontainerId}` is resolved too, in its own pass after the local one. */
  devcontainerId?: string;
  /** Named in the error for `${localEnv}` without a variable name. */
  configFile?: string;
}

/** Resolves one `${…}`: `match` is the whole text, `name` the part before the first `:`, `args` the rest. */
type Resolver = (match: string, name: string, args: string[]) => string;

// Up to the first `}` on the same line, as the CLI's non-greedy `.*?` does.
const VARIABLE = /\$\{([^}\n\r\u2028\u2029]*)\}/g;

function substituteString(text: string, resolve: Resolver): string {
  return text.replace(VARIABLE, (match: string, inner: string) => {
    const [name = '', ...args] = inner.split(':');
    return resolve(match, name, args);
  });
}

function substituteDeep(value: unknown, resolve: Resolver): unknown {
  if (typeof value === 'string') return substituteString(value, resolve);
  if (Array.isArray(value)) return value.map((entry) => substituteDeep(entry, resolve));
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) {
      // defineProperty: a JSON key "__proto__" must stay a plain property, not become the prototype.
      Object.defineProperty(result, key, { value: substituteDeep(entry, resolve), enumerable: true, writable: true, configurable: true });
    }
    return result;
  }
  return value;
}

function lookupEnv(env: Readonly<Record<string, string | undefined>>, match: string, args: string[], configFile?: string): string {
  const [variable, fallback] = args;
  if (variable === undefined) {
    const where = configFile === undefined ? '' : ` in ${configFile}`;
    throw new DevenvError('CONFIG_INVALID', `\`${match}\`${where} cannot be resolved: no variable name`, {
      hint: `Write it as \`${match.slice(0, -1)}:NAME}\`, or \`${match.slice(0, -1)}:NAME:default}\`.`,
    });
  }
  const found = env[variable];
  if (typeof found === 'string') return found;
  return fallback ?? '';
}

function localResolver(context: LocalSubstitutionContext, containerWorkspaceFolder: string | undefined): Resolver {
  const { env, localWorkspaceFolder, configFile } = context;
  return (match, name, args) => {
    switch (name) {
      case 'localEnv':
      case 'env':
        return lookupEnv(env, match, args, configFile);
      case 'localWorkspaceFolder':
        return localWorkspaceFolder ?? match;
      case 'localWorkspaceFolderBasename':
        return localWorkspaceFolder === undefined ? match : basename(localWorkspaceFolder);
      case 'containerWorkspaceFolder':
        return containerWorkspaceFolder ?? match;
      case 'containerWorkspaceFolderBasename':
        return containerWorkspaceFolder === undefined ? match : posix.basename(containerWorkspaceFolder);
      default:
        return match;
    }
  };
}

/**
 * The local passes: host env and folders, then `${devcontainerId}` when the context has it.
 * `${containerEnv:…}` and unknown variables are left for later (or forever).
 */
export function substituteLocal<T>(value: T, context: LocalSubstitutionContext): T {
  let containerWorkspaceFolder = context.containerWorkspaceFolder;
  if (containerWorkspaceFolder !== undefined) {
    containerWorkspaceFolder = substituteString(containerWorkspaceFolder, localResolver(context, containerWorkspaceFolder));
  }
  const local = substituteDeep(value, localResolver(context, containerWorkspaceFolder));
  return (context.devcontainerId === undefined ? local : substituteDevcontainerId(local, context.devcontainerId)) as T;
}

/** Only `${devcontainerId}`. */
export function substituteDevcontainerId<T>(value: T, devcontainerId: string): T {
  return substituteDeep(value, (match, name) => (name === 'devcontainerId' ? devcontainerId : match)) as T;
}

/**
 * The last pass, once the container's environment is known: `${containerEnv:VAR}` and `${containerEnv:VAR:default}`,
 * deeply through objects and arrays (remoteEnv, lifecycle commands…).
 */
export function substituteContainerEnv<T>(value: T, containerEnv: Readonly<Record<string, string | undefined>>, configFile?: string): T {
  return substituteDeep(value, (match, name, args) =>
    name === 'containerEnv' ? lookupEnv(containerEnv, match, args, configFile) : match,
  ) as T;
}
