import { DevenvError, toDevenvError } from '../errors.js';
import { createStderrLogger, type LogLevel } from '../host/logger.js';
import { resolveStoreRoot } from '../host/paths.js';
import type { ServiceContext } from '../services/service-context.js';
import type { ParsedFlags } from './docker-args.js';
import { renderError } from './render-error.js';

/** The service context from the global flags of a docker-style command. */
export function contextFromFlags(flags: ParsedFlags): ServiceContext {
  return {
    root: resolveStoreRoot({ flag: flags.root as string | undefined }),
    logger: createStderrLogger((flags['log-level'] as LogLevel | undefined) ?? 'warn'),
  };
}

/**
 * Run a docker-style command body and turn any failure into the rendered error and its exit code, so the
 * oclif command and the fast path (bin/devenv) behave the same.
 */
export async function runDockerStyle(argv: readonly string[], operation: string, body: (json: boolean) => Promise<number>): Promise<number> {
  const json = argv.includes('--json');
  const debug = argv.includes('debug');
  try {
    return await body(json);
  } catch (error) {
    const e = error instanceof DevenvError ? error : toDevenvError(operation, error);
    renderError(e, { json, debug });
    return e.exitCode;
  }
}

export function printWarnings(ctx: ServiceContext, warnings: readonly string[]): void {
  for (const w of warnings) ctx.logger.warn(w);
}
