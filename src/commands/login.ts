import { Args, Flags } from '@oclif/core';

import { BaseCommand } from '../cli/base-command.js';
import { DevenvError } from '../errors.js';
import { loginRegistry } from '../services/image/login.js';

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Ask on the terminal; with `hidden`, the answer is not echoed. */
async function prompt(question: string, hidden: boolean): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  if (!hidden) {
    const { createInterface } = await import('node:readline');
    const rl = createInterface({ input: stdin, terminal: false });
    return new Promise((resolve) => {
      rl.once('line', (line) => {
        rl.close();
        resolve(line);
      });
    });
  }
  stdin.setRawMode(true);
  stdin.resume();
  let answer = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (data: Buffer): void => {
        for (const ch of data.toString('utf8')) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') {
            stdin.off('data', onData);
            return resolve(answer);
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            return reject(new DevenvError('USAGE', 'login: interrupted'));
          }
          if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
          else answer += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

export default class Login extends BaseCommand<typeof Login> {
  static override description = "Save credentials for a registry in devenv's auth.json, after checking them with the registry";
  static override examples = [
    'echo "$TOKEN" | <%= config.bin %> login ghcr.io -u me --password-stdin',
    '<%= config.bin %> login 127.0.0.1:5000 -u me',
  ];
  static override args = { server: Args.string({ description: 'registry (default docker.io)', default: 'docker.io' }) };
  static override flags = {
    username: Flags.string({ char: 'u', description: 'user name (asked for on a terminal when not given)' }),
    'password-stdin': Flags.boolean({ description: 'read the password (or token) from stdin' }),
  };

  async run(): Promise<void> {
    const tty = process.stdin.isTTY === true;
    if (this.flags['password-stdin'] && this.flags.username === undefined) {
      throw new DevenvError('USAGE', 'login: --password-stdin needs --username', { hint: 'Pass -u USER.' });
    }
    if (!this.flags['password-stdin'] && !tty) {
      throw new DevenvError('USAGE', 'login: no terminal to ask for the password', { hint: 'Pipe it in: `… | devenv login SERVER -u USER --password-stdin`.' });
    }
    const username = this.flags.username ?? (await prompt('Username: ', false));
    const password = this.flags['password-stdin'] ? await readAllStdin() : await prompt('Password: ', true);
    const result = await loginRegistry({ root: this.storeRoot, logger: this.logger }, { server: this.args.server, username, password });
    this.output(result, `Login Succeeded (${result.registry}; saved in ${result.authFile})`);
  }
}
