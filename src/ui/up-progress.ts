import type { PullProgressEvent } from '../services/image/pull.js';
import { formatLayerRow, PullProgressModel } from './pull-progress.js';

/** The terminal view of `devenv up`: finished steps and hook output scroll above a live line (spinner, step, time). */
export interface UpProgressView {
  step(message: string): void;
  /** A line that stays (hook output, warnings). */
  line(text: string): void;
  pull(event: PullProgressEvent): void;
  /** End the view; `failed` marks the current step as the one that failed. */
  stop(failed?: boolean): Promise<void>;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Draw with ink (loaded here, only when `up` has work to show on a terminal; built with createElement so the module
 * graph stays free of JSX). Output lines go through ink's <Static>, so they never flicker or get redrawn.
 */
export async function createUpProgressView(out: NodeJS.WriteStream): Promise<UpProgressView> {
  const [{ render, Box, Static, Text }, { createElement: h }] = await Promise.all([import('ink'), import('react')]);
  const done: { key: number; text: string; color?: string }[] = [];
  const pull = new PullProgressModel();
  let current: { message: string; since: number } | undefined;
  let frame = 0;
  let pulling = false;
  const view = () =>
    h(
      Box,
      { flexDirection: 'column' },
      h(Static<(typeof done)[number]>, {
        items: [...done],
        children: (item) => h(Text, { key: item.key, ...(item.color ? { color: item.color } : {}) }, item.text),
      }),
      current ? h(Text, { color: 'cyan' }, `${FRAMES[frame % FRAMES.length]} ${current.message} ${formatSeconds(Date.now() - current.since)}`) : null,
      ...(pulling ? pull.list().map((row) => h(Text, { key: row.digest, dimColor: true }, `  ${formatLayerRow(row)}`)) : []),
    );
  const instance = render(view(), { stdout: out, patchConsole: false });
  const push = (text: string, color?: string): void => {
    done.push({ key: done.length, text, ...(color ? { color } : {}) });
  };
  const finishStep = (failed = false): void => {
    if (current) push(`${failed ? '✖' : '✔'} ${current.message} (${formatSeconds(Date.now() - current.since)})`, failed ? 'red' : 'green');
    current = undefined;
    pulling = false;
  };
  const timer = setInterval(() => {
    frame += 1;
    instance.rerender(view());
  }, 100);
  return {
    step(message) {
      finishStep();
      current = { message, since: Date.now() };
      instance.rerender(view());
    },
    line(text) {
      push(text);
      instance.rerender(view());
    },
    pull(event) {
      pulling = true;
      pull.apply(event, Date.now());
    },
    async stop(failed = false) {
      clearInterval(timer);
      finishStep(failed);
      instance.rerender(view());
      // waitUntilExit() must be asked before unmount(): asked after, its promise never settles.
      const exited = instance.waitUntilExit();
      instance.unmount();
      await exited;
    },
  };
}
