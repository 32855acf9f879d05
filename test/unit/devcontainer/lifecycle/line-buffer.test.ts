import { describe, expect, it } from 'vitest';

import { LineBuffer, MAX_PENDING_LINE } from '../../../../src/devcontainer/lifecycle/line-buffer.js';

function collect(): { lines: string[]; buffer: LineBuffer } {
  const lines: string[] = [];
  return { lines, buffer: new LineBuffer((line) => lines.push(line)) };
}

describe('LineBuffer', () => {
  it('emits whole lines, holding a partial one until its newline or flush', () => {
    const { lines, buffer } = collect();
    buffer.write(Buffer.from('a\nb'));
    expect(lines).toEqual(['a']);
    buffer.write(Buffer.from('c\r\n\nd'));
    expect(lines).toEqual(['a', 'bc', '']);
    buffer.flush();
    expect(lines).toEqual(['a', 'bc', '', 'd']);
    buffer.flush();
    expect(lines).toHaveLength(4);
  });

  it('decodes UTF-8 split across chunks', () => {
    const { lines, buffer } = collect();
    const bytes = Buffer.from('€\n');
    buffer.write(bytes.subarray(0, 1));
    buffer.write(bytes.subarray(1));
    expect(lines).toEqual(['€']);
  });

  it('passes on an over-long line without waiting for its newline', () => {
    const { lines, buffer } = collect();
    buffer.write(Buffer.alloc(MAX_PENDING_LINE + 1, 'x'));
    expect(lines).toHaveLength(1);
  });
});
