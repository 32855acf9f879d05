import type { Logger } from '../host/logger.js';

/** What every service gets from the command that calls it: the store root and where to report. */
export interface ServiceContext {
  root: string;
  logger: Logger;
}
