import type { BuildProgressEvent } from '../services/image/build.js';

/** How `image build` and `devenv build` show progress on stderr. */
export type BuildProgressMode = 'plain' | 'json' | 'quiet';

/**
 * Plain lines (`[2/5] RUN apt-get update`, `CACHED` for cache hits) with RUN output as it comes, or one JSON
 * event per line under --json. The same on a terminal: step lines interleave with command output, which an
 * ink view would hide.
 */
export function createBuildProgressPrinter(mode: BuildProgressMode, write: (text: string) => void = (t) => process.stderr.write(t)): (event: BuildProgressEvent) => void {
  if (mode === 'json') return (event) => write(`${JSON.stringify(event)}\n`);
  if (mode === 'quiet') return () => undefined;
  let atLineStart = true;
  return (event) => {
    switch (event.type) {
      case 'step': {
        const prefix = atLineStart ? '' : '\n';
        write(`${prefix}[${event.step}/${event.total}] ${event.cached ? 'CACHED ' : ''}${event.instruction.length > 160 ? `${event.instruction.slice(0, 157)}…` : event.instruction}\n`);
        atLineStart = true;
        break;
      }
      case 'output':
        write(event.text);
        atLineStart = event.text.endsWith('\n');
        break;
      case 'progress':
        write(`${atLineStart ? '' : '\n'}› ${event.message}\n`);
        atLineStart = true;
        break;
      case 'warning':
        write(`${atLineStart ? '' : '\n'}warning: ${event.message}\n`);
        atLineStart = true;
        break;
    }
  };
}
