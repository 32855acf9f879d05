import { readFileSync } from 'node:fs';

/**
 * Start time of a process (field 22 of /proc/PID/stat, clock ticks since boot), or undefined when it does not
 * exist. A pid plus its start time names one process for its whole life, even after the pid is reused.
 */
export function readProcessStartTime(pid: number, procRoot = '/proc'): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields after the last ')' are fixed.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); field 22 is fields[19].
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

/** True when the process with this pid is alive and is the same one (same start time). */
export function isSameProcessAlive(pid: number, startTime: string | undefined, procRoot = '/proc'): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const now = readProcessStartTime(pid, procRoot);
  return now !== undefined && (startTime === undefined || now === startTime);
}
