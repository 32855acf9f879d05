/**
 * `customizations.vscode` of a devcontainer.json: settings to apply and extensions to install in the remote server.
 * Pure (no `vscode` import).
 */

/** What the container's VS Code server should get. */
export interface VscodeCustomizations {
  settings: Record<string, unknown>;
  extensions: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * From `devenv read-configuration --include-merged-configuration --json` output: the merged configuration's
 * customizations (image metadata first, the project last: later settings win, extensions are a union, an extension
 * written `-publisher.name` is removed), or the plain configuration's when there is no merged one.
 */
export function extractVscodeCustomizations(readConfiguration: unknown): VscodeCustomizations {
  const out: VscodeCustomizations = { settings: {}, extensions: [] };
  if (!isObject(readConfiguration)) return out;
  const merged = readConfiguration.mergedConfiguration;
  const plain = readConfiguration.configuration;
  const source = isObject(merged) && merged.customizations !== undefined ? merged : plain;
  if (!isObject(source)) return out;
  const custom = source.customizations;
  // merged configurations hold a list per tool (one entry per metadata layer), plain ones a single object
  const vscodeEntries: unknown[] = isObject(custom) ? (Array.isArray(custom.vscode) ? custom.vscode : [custom.vscode]) : [];
  const extensions: string[] = [];
  for (const entry of vscodeEntries) {
    if (!isObject(entry)) continue;
    if (isObject(entry.settings)) Object.assign(out.settings, entry.settings);
    if (Array.isArray(entry.extensions)) for (const e of entry.extensions) if (typeof e === 'string' && e.trim() !== '') extensions.push(e.trim());
  }
  const removed = new Set(extensions.filter((e) => e.startsWith('-')).map((e) => e.slice(1).toLowerCase()));
  const seen = new Set<string>();
  for (const e of extensions) {
    const key = e.toLowerCase();
    if (e.startsWith('-') || removed.has(key) || seen.has(key)) continue;
    seen.add(key);
    out.extensions.push(e);
  }
  return out;
}

/** Strip // and /* *\/ comments and trailing commas from JSONC (settings.json), leaving strings alone. */
export function stripJsonc(text: string): string {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      i++;
    } else if (c === '"') {
      inString = true;
      out += c;
      i++;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return dropTrailingCommas(out);
}

/** Drop commas followed (after white space) by `}` or `]`, outside strings. */
function dropTrailingCommas(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if (c === ',' && /^\s*[}\]]/.test(text.slice(i + 1))) continue;
    out += c;
  }
  return out;
}

/**
 * The remote server's machine settings with the container's settings applied. Keys the user already set there
 * are kept unless the container sets them too (the container's config wins, as with the Dev Containers
 * extension). Throws when the existing file is not JSON(C) — then the caller leaves it alone.
 */
export function mergeMachineSettings(existingText: string, settings: Record<string, unknown>): string {
  const existing: unknown = existingText.trim() === '' ? {} : JSON.parse(stripJsonc(existingText));
  if (!isObject(existing)) throw new Error('the machine settings file does not hold a JSON object');
  return `${JSON.stringify({ ...existing, ...settings }, null, 2)}\n`;
}

/**
 * Where the VS Code server keeps its data under the remote user's home, by the client's URI scheme
 * (`vscode.env.uriScheme`): Remote-SSH uses `~/.vscode-server` (`-insiders` for Insiders), open-remote-ssh
 * `~/.vscodium-server`.
 */
export function serverDataDirFor(uriScheme: string): string {
  switch (uriScheme) {
    case 'vscode-insiders':
      return '.vscode-server-insiders';
    case 'vscodium':
      return '.vscodium-server';
    case 'vscodium-insiders':
      return '.vscodium-server-insiders';
    default:
      return '.vscode-server';
  }
}

/** The extensions still to install: the wanted ones minus those present (case-insensitive ids). */
export function extensionsToInstall(wanted: readonly string[], installed: readonly string[]): string[] {
  const have = new Set(installed.map((e) => e.toLowerCase()));
  return wanted.filter((e) => !have.has(e.replace(/@.*$/, '').toLowerCase()));
}
