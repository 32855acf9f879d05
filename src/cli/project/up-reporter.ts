import type { UpReporter } from '../../services/project/up.js';
import type { UpProgressView } from '../../ui/up-progress.js';
import { formatPortEvent } from './port-lines.js';

/**
 * How `up` shows its work, all on stderr (stdout holds only the result). On a terminal: an ink view (spinner on the
 * current step, finished steps with their time, hook output and pull progress) — loaded at the first step, so a warm
 * `up` that has nothing to do never pays for ink. Piped: `› step` lines and the hook output as text. Under --json:
 * one JSON event per line (`{"type":"progress"|"warning"|"output"|"hook"|"ready",…}`) for editors and the VS Code
 * extension, and the pull's own JSON progress events.
 */
export function createUpReporter(
  mode: 'json' | 'tty' | 'plain',
  write: (text: string) => void = (t) => process.stderr.write(t),
): UpReporter & { stop(failed?: boolean): Promise<void> } {
  const event = (e: Record<string, unknown>): void => write(`${JSON.stringify(e)}\n`);
  let view: Promise<UpProgressView> | undefined;
  let hookRunning: string | undefined;
  let stopped = false;
  const startView = (): Promise<UpProgressView> =>
    (view ??= import('../../ui/up-progress.js').then((m) => m.createUpProgressView(process.stderr)));
  const text = (line: string): void => {
    if (view) void view.then((v) => v.line(line));
    else write(`${line}\n`);
  };
  return {
    step(message) {
      if (mode === 'json') event({ type: 'progress', message });
      else if (mode === 'tty') void startView().then((v) => v.step(message));
      else write(`› ${message}\n`);
    },
    warn(message) {
      if (mode === 'json') event({ type: 'warning', message });
      else text(`Warning: ${message}`);
    },
    line(line, stream) {
      if (mode === 'json') event({ type: 'output', stream, text: line });
      else if (mode === 'tty' && hookRunning !== undefined && line.startsWith(`Running ${hookRunning}`)) return; // the spinner says it
      else text(line);
    },
    event(e) {
      if (mode === 'json') event({ type: 'hook', ...e });
      else if (mode === 'tty' && e.state === 'started' && e.name === undefined) {
        // On a terminal a running hook is the current step (spinner and time); piped, the runner's line says it.
        hookRunning = e.hook;
        void startView().then((v) => v.step(`Running ${e.hook}`));
      }
    },
    ready() {
      if (mode === 'json') event({ type: 'ready' });
    },
    onPullProgress(e) {
      if (mode === 'json') event(e as unknown as Record<string, unknown>);
      else if (mode === 'tty') void startView().then((v) => v.pull(e));
      else if (e.type === 'resolved') write(`› Pulling ${e.reference} (${e.layers} layer${e.layers === 1 ? '' : 's'})\n`);
      else if (e.status === 'done') write(`  ${e.digest.slice(7, 19)}: pulled\n`);
    },
    portEvent(e) {
      if (mode === 'json') event({ type: 'port', ...e });
      else if (view && !stopped) text(formatPortEvent(e));
      else write(`${formatPortEvent(e)}\n`);
    },
    async stop(failed = false) {
      stopped = true;
      if (view) await (await view).stop(failed);
    },
  };
}

