import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { DevenvError } from '../../errors.js';
import { isSameProcessAlive } from '../../runtime/process-state.js';

/** `TERM`, `SIGTERM`, `15` → 15; unknown names are a usage error naming the value. */
export function parseSignal(value: string): number {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n >= 1 && n <= 64) return n;
  }
  const name = value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`;
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw new DevenvError('USAGE', `invalid signal \`${value}\``, { hint: 'Use a name such as TERM, KILL, HUP or a number.' });
  return n;
}

/** Signal a process only if it is still the one we started (same start time): never a reused pid. */
export function signalIfSame(pid: number, startTime: string | undefined, signal: number): boolean {
  if (!isSameProcessAlive(pid, startTime)) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Wait until the predicate holds or the time runs out; true when it held. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, stepMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (predicate()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
    stepMs = Math.min(stepMs * 2, 100);
  }
}
