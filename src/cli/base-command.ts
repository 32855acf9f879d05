import { Command, Flags, Interfaces } from '@oclif/core';

import { DevenvError, toDevenvError } from '../errors.js';
import { createStderrLogger, LOG_LEVELS, type Logger, type LogLevel } from '../host/logger.js';
import { resolveStoreRoot } from '../host/paths.js';
import { renderError } from './render-error.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/**
 * Every devenv command extends this: the global flags (--root, --json, --log-level), one error renderer,
 * and helpers to print results. Commands stay thin: parse flags, call one service, render.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    root: Flags.string({
      description: 'directory holding devenv images, containers and state (env: DEVENV_ROOT)',
      helpGroup: 'GLOBAL',
    }),
    json: Flags.boolean({ description: 'print machine-readable JSON on stdout', helpGroup: 'GLOBAL', default: false }),
    'log-level': Flags.option({ options: LOG_LEVELS, helpGroup: 'GLOBAL', default: 'warn' as LogLevel })(),
  };

  protected flags!: BaseFlags<T>;
  protected args!: BaseArgs<T>;
  protected logger!: Logger;
  protected storeRoot!: string;
  /** The positional arguments, without flags or flag values (what `this.argv` filtering cannot tell apart). */
  protected operands!: string[];

  public override async init(): Promise<void> {
    await super.init();
    try {
      const { args, flags, argv } = await this.parse({
        flags: this.ctor.flags,
        baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
        args: this.ctor.args,
        strict: this.ctor.strict,
      });
      this.flags = flags as BaseFlags<T>;
      this.args = args as BaseArgs<T>;
      this.operands = argv.map(String);
    } catch (error) {
      throw new DevenvError('USAGE', (error as Error).message, {
        hint: `Run \`devenv ${this.id?.replaceAll(':', ' ') ?? ''} --help\` for usage.`,
      });
    }
    this.logger = createStderrLogger(this.flags['log-level'] as LogLevel);
    this.storeRoot = resolveStoreRoot({ flag: this.flags.root });
  }

  /** Print a result: JSON on stdout under --json, otherwise the text form. */
  protected output(json: unknown, text?: string): void {
    if (this.flags?.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    else if (text !== undefined && text !== '') process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  protected override async catch(error: Error & { exitCode?: number; code?: string }): Promise<never> {
    if (error.code === 'EEXIT') throw error; // this.exit(n): not a failure to render
    const wantsJson = this.flags?.json ?? this.argv.includes('--json');
    const devenvError =
      error instanceof DevenvError
        ? error
        : (error as { oclif?: unknown }).oclif !== undefined
          ? new DevenvError('USAGE', error.message, { hint: 'Run the command with --help for usage.' })
          : toDevenvError(`devenv ${this.id?.replaceAll(':', ' ') ?? ''}`.trim(), error);
    renderError(devenvError, { json: wantsJson, debug: this.flags?.['log-level'] === 'debug' });
    return this.exit(devenvError.exitCode);
  }
}
