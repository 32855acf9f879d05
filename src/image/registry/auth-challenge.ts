/** One challenge of a `WWW-Authenticate` header: `Bearer realm="…",service="…",scope="…"`. */
export interface AuthChallenge {
  /** Lower-cased: "bearer", "basic". */
  scheme: string;
  /** Parameter names lower-cased; values unquoted. */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/**
 * Parse a `WWW-Authenticate` header (RFC 9110 §11.6.1): one or more challenges, each a scheme and comma-separated
 * `name=value` parameters whose values are tokens or quoted strings with backslash escapes. Malformed tails are
 * dropped rather than thrown: a registry's odd header should lead to "unauthorized", not a parse error.
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let pos = 0;
  const skip = (chars: RegExp): void => {
    while (pos < header.length && chars.test(header[pos] as string)) pos += 1;
  };
  const readToken = (): string => {
    const start = pos;
    while (pos < header.length && TOKEN_CHAR.test(header[pos] as string)) pos += 1;
    return header.slice(start, pos);
  };
  const readValue = (): string => {
    if (header[pos] !== '"') {
      const start = pos;
      while (pos < header.length && !/[\s,]/.test(header[pos] as string)) pos += 1;
      return header.slice(start, pos);
    }
    pos += 1;
    let value = '';
    while (pos < header.length && header[pos] !== '"') {
      if (header[pos] === '\\' && pos + 1 < header.length) pos += 1;
      value += header[pos];
      pos += 1;
    }
    pos += 1; // closing quote
    return value;
  };

  while (pos < header.length) {
    skip(/[\s,]/);
    const scheme = readToken();
    if (scheme === '') break;
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const mark = pos;
      const name = readToken();
      skip(/\s/);
      if (name === '' || header[pos] !== '=') {
        pos = mark; // the start of the next challenge (or the end)
        break;
      }
      pos += 1;
      skip(/\s/);
      challenge.params[name.toLowerCase()] = readValue();
    }
  }
  return challenges;
}
