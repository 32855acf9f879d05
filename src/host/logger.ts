/** Log levels, most to least severe. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A minimal leveled logger writing to stderr, so stdout stays clean for --json. */
export interface Logger {
  level: LogLevel;
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

export function createStderrLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const rank = (l: LogLevel): number => LOG_LEVELS.indexOf(l);
  const emit = (l: LogLevel, prefix: string, message: string): void => {
    if (rank(l) <= rank(level)) write(`${prefix}${message}\n`);
  };
  return {
    level,
    error: (m) => emit('error', 'Error: ', m),
    warn: (m) => emit('warn', 'Warning: ', m),
    info: (m) => emit('info', '', m),
    debug: (m) => emit('debug', 'debug: ', m),
  };
}
