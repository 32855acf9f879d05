/**
 * Best-effort line/column of a property in a devcontainer.json text, for error messages. It scans for each key of
 * the path in turn (each search starting where the previous key was found) instead of keeping positions while
 * parsing: parsing stays on JSON.parse/json5, and this cost is only paid when there is an error to report.
 */
import type { PathSegment } from './config-rules.js';

export interface TextPosition {
  /** 1-based, like editors and json5's SyntaxError. */
  line: number;
  column: number;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Position of `text[index]`. */
export function positionAt(text: string, index: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: index - lineStart + 1 };
}

/**
 * Where the deepest key of `path` that could be found starts; array indexes keep the position of their array's key.
 * Undefined when not even the first key is found (e.g. it was written with escapes).
 */
export function locateProperty(text: string, path: readonly PathSegment[]): TextPosition | undefined {
  let from = 0;
  let found: number | undefined;
  for (const segment of path) {
    if (typeof segment === 'number') continue;
    const key = escapeRegExp(segment);
    // "key": / 'key': / key: (JSON5 identifier keys), not preceded by an identifier character.
    const pattern = new RegExp(`(?:"${key}"|'${key}'|(?<![\\w$"'])${key})\\s*:`, 'g');
    pattern.lastIndex = from;
    const match = pattern.exec(text);
    if (match === null) break;
    found = match.index;
    from = match.index + match[0].length;
  }
  return found === undefined ? undefined : positionAt(text, found);
}
