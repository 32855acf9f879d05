/**
 * Docker's word processing for Dockerfile arguments (moby/buildkit's shell lexer): quotes, the escape character,
 * and variable expansion ($VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word}, ${VAR:?msg},
 * ${VAR?msg}). Pure.
 */

/** Looks a variable up in the build's scope (ENV, then ARG); undefined when unset. */
export type VariableLookup = (name: string) => string | undefined;

/** A `${VAR:?msg}` whose variable is unset or empty. */
export class UnsetVariableError extends Error {}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/**
 * Split on unquoted white space, keeping quotes and escapes in the words (they are processed by expandWord).
 */
export function splitWords(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      current += c;
      if (c === escape && quote === '"' && i + 1 < text.length) current += text[++i];
      else if (c === quote) quote = undefined;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
      continue;
    }
    inWord = true;
    current += c;
    if (c === escape && i + 1 < text.length) current += text[++i];
    else if (c === '"' || c === "'") quote = c;
  }
  if (inWord) words.push(current);
  return words;
}

class Lexer {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly lookup: VariableLookup,
    private readonly escape: string,
  ) {}

  /** Process the whole text, or up to an unmatched `}` when `inBraces`. */
  run(inBraces = false): string {
    let out = '';
    const t = this.text;
    while (this.i < t.length) {
      const c = t[this.i] as string;
      if (inBraces && c === '}') return out;
      if (c === "'") {
        const end = t.indexOf("'", this.i + 1);
        if (end === -1) throw new SyntaxError('unterminated single quote');
        out += t.slice(this.i + 1, end);
        this.i = end + 1;
      } else if (c === '"') {
        this.i++;
        out += this.doubleQuoted();
      } else if (c === this.escape) {
        this.i++;
        if (this.i < t.length) out += t[this.i++];
      } else if (c === '$') {
        out += this.variable();
      } else {
        out += c;
        this.i++;
      }
    }
    if (inBraces) throw new SyntaxError('missing `}` in a variable');
    return out;
  }

  private doubleQuoted(): string {
    let out = '';
    const t = this.text;
    while (this.i < t.length) {
      const c = t[this.i] as string;
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === this.escape && this.i + 1 < t.length) {
        const next = t[this.i + 1] as string;
        if (next === '"' || next === '$' || next === this.escape) {
          out += next;
          this.i += 2;
          continue;
        }
        out += c;
        this.i++;
        continue;
      }
      if (c === '$') {
        out += this.variable();
        continue;
      }
      out += c;
      this.i++;
    }
    throw new SyntaxError('unterminated double quote');
  }

  private variable(): string {
    const t = this.text;
    this.i++; // $
    const c = t[this.i];
    if (c === '{') {
      this.i++;
      let name = '';
      while (this.i < t.length && NAME_CHAR.test(t[this.i] as string)) name += t[this.i++];
      if (!name) throw new SyntaxError('bad substitution: a `${` without a variable name');
      const value = this.lookup(name);
      if (t[this.i] === '}') {
        this.i++;
        return value ?? '';
      }
      let op = t[this.i] as string;
      this.i++;
      if (op === ':') {
        op += t[this.i] ?? '';
        this.i++;
      }
      const word = this.run(true);
      this.i++; // }
      const set = value !== undefined;
      const nonEmpty = set && value !== '';
      switch (op) {
        case ':-':
          return nonEmpty ? value : word;
        case '-':
          return set ? value : word;
        case ':+':
          return nonEmpty ? word : '';
        case '+':
          return set ? word : '';
        case ':?':
          if (!nonEmpty) throw new UnsetVariableError(`${name}: ${word || 'is not set or empty'}`);
          return value;
        case '?':
          if (!set) throw new UnsetVariableError(`${name}: ${word || 'is not set'}`);
          return value;
        default:
          throw new SyntaxError(`unsupported modifier \`${op}\` in \${${name}${op}…}`);
      }
    }
    if (c !== undefined && NAME_START.test(c)) {
      let name = '';
      while (this.i < t.length && NAME_CHAR.test(t[this.i] as string)) name += t[this.i++];
      return this.lookup(name) ?? '';
    }
    return '$';
  }
}

/** Expand variables and remove quotes and escapes in one word (or a whole argument string, spaces kept). */
export function expandWord(text: string, lookup: VariableLookup, escape = '\\'): string {
  return new Lexer(text, lookup, escape).run();
}

/** splitWords then expandWord on each: how COPY, EXPOSE, FROM and VOLUME read their arguments. */
export function expandWords(text: string, lookup: VariableLookup, escape = '\\'): string[] {
  return splitWords(text, escape).map((w) => expandWord(w, lookup, escape));
}

/**
 * `KEY=VALUE …` pairs (ENV, LABEL), or the legacy `KEY VALUE WITH SPACES` form of ENV when the first word has no
 * `=`. Values are expanded; keys are expanded too (LABEL allows variables in keys).
 */
export function parseKeyValues(text: string, lookup: VariableLookup, escape = '\\', legacy = true): Array<[string, string]> {
  const words = splitWords(text, escape);
  const first = words[0];
  if (first === undefined) return [];
  if (!first.includes('=')) {
    if (!legacy) throw new SyntaxError(`\`${first}\` must be KEY=VALUE`);
    const rest = text.trim().slice(first.length).trim();
    return [[expandWord(first, lookup, escape), expandWord(rest, lookup, escape)]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new SyntaxError(`\`${w}\` must be KEY=VALUE`);
    return [expandWord(w.slice(0, eq), lookup, escape), expandWord(w.slice(eq + 1), lookup, escape)];
  });
}
