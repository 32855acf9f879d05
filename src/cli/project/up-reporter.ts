import type { PullProgressEvent } from '../../services/image/pull.js';
import type { UpReporter } from '../../services/project/up.js';

/**
 * How `up` shows its work, all on stderr (stdout holds only the result): step lines and hook output as text,
 * or, under --json, one JSON event per line (`{"type":"progress"|"warning"|"output"|"hook"|"ready",…}`) that
 * editors and the VS Code extension read. Pull progress is drawn with ink on a terminal (loaded only when a
 * pull happens).
 */
export function createUpReporter(json: boolean, write: (text: string) => void = (t) => process.stderr.write(t)): UpReporter & { stop(): Promise<void> } {
  const event = (e: Record<string, unknown>): void => write(`${JSON.stringify(e)}\n`);
  let pull: Promise<{ onProgress: (e: PullProgressEvent) => void; stop: () => Promise<void> }> | undefined;
  return {
    step(message) {
      if (json) event({ type: 'progress', message });
      else write(`› ${message}\n`);
    },
    warn(message) {
      if (json) event({ type: 'warning', message });
      else write(`Warning: ${message}\n`);
    },
    line(text, stream) {
      if (json) event({ type: 'output', stream, text });
      else write(`${text}\n`);
    },
    event(e) {
      // The runner's own lines say which hook runs; events are for tools.
      if (json) event({ type: 'hook', ...e });
    },
    ready() {
      if (json) event({ type: 'ready' });
    },
    onPullProgress(e) {
      pull ??= import('../../ui/pull-progress.js').then((m) =>
        m.createPullProgressReporter(json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain', { stdout: process.stderr, stderr: process.stderr }),
      );
      void pull.then((r) => r.onProgress(e));
    },
    async stop() {
      if (pull) await (await pull).stop();
    },
  };
}
