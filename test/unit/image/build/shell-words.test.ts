import { describe, expect, it } from 'vitest';

import { expandWord, parseKeyValues, splitWords, UnsetVariableError } from '../../../../src/image/build/shell-words.js';

const vars: Record<string, string> = { A: 'a', EMPTY: '', SP: 'x y' };
const lookup = (n: string): string | undefined => vars[n];

describe('Dockerfile word expansion', () => {
  it.each([
    ['$A', 'a'],
    ['${A}b', 'ab'],
    ['${NOPE:-def}', 'def'],
    ['${EMPTY:-def}', 'def'],
    ['${EMPTY-def}', ''],
    ['${A:+set}', 'set'],
    ['${NOPE:+set}', ''],
    ['${NOPE:-${A}x}', 'ax'],
    ["'$A'", '$A'],
    ['"$A \\$A"', 'a $A'],
    ['\\$A', '$A'],
    ['a$', 'a$'],
    ['"${SP}"', 'x y'],
  ])('%s → %s', (text, expected) => {
    expect(expandWord(text, lookup)).toBe(expected);
  });

  it('fails ${X:?msg} when unset', () => {
    expect(() => expandWord('${NOPE:?needed}', lookup)).toThrow(UnsetVariableError);
  });

  it('splits words on unquoted space and reads ENV pairs in both forms', () => {
    expect(splitWords('a "b c" d\\ e')).toEqual(['a', '"b c"', 'd\\ e']);
    expect(parseKeyValues('K="v 1" L=$A', lookup)).toEqual([['K', 'v 1'], ['L', 'a']]);
    expect(parseKeyValues('K value with  spaces', lookup)).toEqual([['K', 'value with  spaces']]);
  });
});
