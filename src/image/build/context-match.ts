import { posix } from 'node:path';

/**
 * Path patterns of the build context: `.dockerignore` (Docker's patternmatcher: Go filepath.Match per component
 * plus `**`, `!` exceptions, the last matching pattern wins, a pattern that matches a directory excludes what is
 * below it) and the globs of COPY/ADD sources. Paths are context-relative, `/`-separated, without a leading `/`. Pure.
 */

/** True when `text` holds glob characters (`*`, `?`, `[`). */
export function hasGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

/** A Go filepath.Match pattern (plus `**` for any number of directories) as an anchored RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^') || body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) {
      i++;
      re += (pattern[i] as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** Clean a context-relative path or pattern: normalise, no leading `/` or `./`, no trailing `/`. */
export function cleanContextPath(path: string): string {
  const cleaned = posix.normalize(`/${path}`).replace(/^\/+/, '').replace(/\/+$/, '');
  return cleaned === '.' ? '' : cleaned;
}

interface IgnoreRule {
  negate: boolean;
  re: RegExp;
  pattern: string;
}

/** The rules of a `.dockerignore` file. */
export interface IgnoreMatcher {
  /** True when the context path is excluded. */
  isIgnored(path: string): boolean;
  /** True when some `!` rule could re-include paths below an ignored directory (it must then be walked). */
  hasExceptions: boolean;
  patterns: string[];
}

/** Parse `.dockerignore` text. */
export function parseDockerignore(text: string): IgnoreMatcher {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let negate = false;
    if (line.startsWith('!')) {
      negate = true;
      line = line.slice(1).trim();
    }
    const pattern = cleanContextPath(line);
    if (pattern === '') continue;
    rules.push({ negate, re: globToRegExp(pattern), pattern });
  }
  const matches = (rule: IgnoreRule, path: string): boolean => {
    if (rule.re.test(path)) return true;
    // a pattern naming a directory also covers everything below it
    let slash = path.indexOf('/');
    while (slash !== -1) {
      if (rule.re.test(path.slice(0, slash))) return true;
      slash = path.indexOf('/', slash + 1);
    }
    return false;
  };
  return {
    hasExceptions: rules.some((r) => r.negate),
    patterns: rules.map((r) => (r.negate ? `!${r.pattern}` : r.pattern)),
    isIgnored(path: string): boolean {
      let ignored = false;
      for (const rule of rules) if (matches(rule, path)) ignored = !rule.negate;
      return ignored;
    },
  };
}
