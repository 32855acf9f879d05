import type { DevenvError } from '../errors.js';

export interface RenderErrorOptions {
  json: boolean;
  debug?: boolean;
  write?: (text: string) => void;
}

/** The one place errors are shown: a JSON object under --json (on stdout), a readable block on stderr otherwise. */
export function renderError(error: DevenvError, options: RenderErrorOptions): void {
  if (options.json) {
    (options.write ?? ((t) => process.stdout.write(t)))(`${JSON.stringify(error.toJSON())}\n`);
    return;
  }
  const write = options.write ?? ((t: string) => process.stderr.write(t));
  let text = `Error: ${error.message}\n`;
  if (error.hint) text += `Hint: ${error.hint}\n`;
  if (options.debug) {
    text += `  code: ${error.code} (${error.kind})\n`;
    if (error.stack) text += `${error.stack}\n`;
    if (error.cause) text += `  cause: ${String((error.cause as Error)?.stack ?? error.cause)}\n`;
  }
  write(text);
}
