import { describe, expect, it } from 'vitest';

import { parseDockerfile } from '../../../../src/image/build/dockerfile-parser.js';

describe('parseDockerfile', () => {
  it('keeps line numbers across comments, continuations and directives', () => {
    const df = parseDockerfile('# syntax=docker/dockerfile:1\nFROM busybox AS base\n# a comment\nRUN echo a \\\n  # inside\n  && echo b\n\nCOPY --chown=1:2 --from=base ["a b", "/x/"]\n');
    expect(df.instructions.map((i) => [i.keyword, i.line])).toEqual([['FROM', 2], ['RUN', 4], ['COPY', 8]]);
    expect(df.instructions[1]?.args).toBe('echo a   && echo b');
    expect(df.instructions[2]?.flags).toEqual([{ name: 'chown', value: '1:2' }, { name: 'from', value: 'base' }]);
    expect(df.instructions[2]?.json).toEqual(['a b', '/x/']);
  });

  it('honours # escape=` and RUN heredocs', () => {
    const df = parseDockerfile('# escape=`\nFROM x\nRUN echo a `\n b\nRUN <<EOF\necho one\necho two\nEOF\nRUN cat <<-X > /f\n\thello\nX\n');
    expect(df.escape).toBe('`');
    expect(df.instructions[1]?.args).toBe('echo a  b');
    expect(df.instructions[2]?.args).toBe('echo one\necho two');
    expect(df.instructions[3]?.args).toBe('cat <<-X > /f\nhello\nX');
    expect(df.instructions[3]?.endLine).toBe(11);
  });
});
