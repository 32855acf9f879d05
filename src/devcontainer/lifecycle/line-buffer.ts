import { StringDecoder } from 'node:string_decoder';

/** Past this many characters without a newline, the pending text is passed on as a line of its own. */
export const MAX_PENDING_LINE = 64 * 1024;

/**
 * Turns a byte stream into whole lines: UTF-8 is decoded across chunk boundaries, a partial line waits for its
 * newline (or `flush`), and a trailing `\r` of CRLF is dropped.
 */
export class LineBuffer {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(private readonly emit: (line: string) => void) {}

  write(chunk: Buffer): void {
    this.pending += this.decoder.write(chunk);
    let newline = this.pending.indexOf('\n');
    while (newline !== -1) {
      this.emit(stripCarriageReturn(this.pending.slice(0, newline)));
      this.pending = this.pending.slice(newline + 1);
      newline = this.pending.indexOf('\n');
    }
    if (this.pending.length > MAX_PENDING_LINE) {
      this.emit(this.pending);
      this.pending = '';
    }
  }

  /** Pass on whatever is left (a last line without newline). */
  flush(): void {
    this.pending += this.decoder.end();
    if (this.pending !== '') this.emit(stripCarriageReturn(this.pending));
    this.pending = '';
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
