/**
 * devcontainer.json text → validated DevContainerConfig. JSON with comments and trailing commas (json5, loaded only
 * when the text is not plain JSON), then the hand-written validation of validate-config.ts.
 */
import { createRequire } from 'node:module';

import { DevenvError } from '../../errors.js';
import { formatPath, type PathSegment, type RuleContext } from './config-rules.js';
import type { DevContainerConfig } from './config-types.js';
import { locateProperty } from './locate-property.js';
import { validateConfig } from './validate-config.js';

/** A config as read from its file, with the non-fatal problems found on the way. */
export interface ParsedConfig {
  config: DevContainerConfig;
  /** `<file>:<line>: unknown property \`imagee\` (ignored; did you mean \`image\`?)` and the like. */
  warnings: string[];
}

const REFERENCE_HINT = 'See https://containers.dev/implementors/json_reference/ for the allowed values.';

let json5: typeof import('json5') | undefined;

interface Json5SyntaxError extends SyntaxError {
  lineNumber: number;
  columnNumber: number;
}

function isJson5SyntaxError(error: unknown): error is Json5SyntaxError {
  return error instanceof SyntaxError && typeof (error as Partial<Json5SyntaxError>).lineNumber === 'number';
}

/** Parse JSON with comments and trailing commas; a syntax error becomes CONFIG_PARSE `<file>:<line>:<column>: …`. */
export function parseJsonWithComments(file: string, text: string): unknown {
  try {
    return JSON.parse(text); // most configs without comments: no need to load json5
  } catch {
    // not strict JSON: json5 decides (and locates the error)
  }
  json5 ??= createRequire(import.meta.url)('json5') as typeof import('json5');
  try {
    return json5.parse(text);
  } catch (error) {
    if (!isJson5SyntaxError(error)) throw error;
    // json5 writes "JSON5: invalid character 'x' at 3:5"; keep only the middle part.
    const what = error.message.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '');
    throw new DevenvError('CONFIG_PARSE', `${file}:${error.lineNumber}:${error.columnNumber}: ${what}`, {
      hint: 'Fix the syntax there (comments and trailing commas are allowed).',
      cause: error,
    });
  }
}

/** A RuleContext whose messages start with `<file>:<line>:` of the property when it can be found in `text`. */
export function createRuleContext(file: string, text: string, warnings: string[]): RuleContext {
  const where = (path: readonly PathSegment[]): string => {
    const position = path.length === 0 ? undefined : locateProperty(text, path);
    return position === undefined ? `${file}:` : `${file}:${position.line}:`;
  };
  return {
    fail(path, problem, hint = REFERENCE_HINT) {
      const subject = path.length === 0 ? '' : ` \`${formatPath(path)}\``;
      throw new DevenvError('CONFIG_INVALID', `${where(path)}${subject} ${problem}`, { hint });
    },
    warn(path, message) {
      warnings.push(`${where(path)} ${message}`);
    },
  };
}

/** Parse and validate the text of `file` (the name is only used in messages). */
export function parseConfigText(file: string, text: string): ParsedConfig {
  const raw = parseJsonWithComments(file, text);
  const warnings: string[] = [];
  const config = validateConfig(raw, createRuleContext(file, text, warnings));
  return { config, warnings };
}
