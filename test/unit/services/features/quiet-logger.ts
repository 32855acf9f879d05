import type { Logger } from '../../../../src/host/logger.js';

/** A logger that keeps what it is told (tests look at warnings). */
export function createLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { level: 'debug', lines, error: keep('error'), warn: keep('warn'), info: keep('info'), debug: keep('debug') } as Logger & { lines: string[] };
}
