import { relative } from 'node:path';
import { createInterface } from 'node:readline/promises';

import { listConfigFiles } from '../../devcontainer/config/discover-config.js';
import { DevenvError } from '../../errors.js';

/**
 * When a project has several sub-folder configs and no --config, ask which one on a terminal (as VS Code does);
 * elsewhere (pipes, --json) the CONFIG_AMBIGUOUS error stands, with its hint to pass --config.
 */
export async function chooseConfigIfAmbiguous<T>(
  location: { workspaceFolder: string; configFile?: string },
  interactive: boolean,
  run: (location: { workspaceFolder: string; configFile?: string }) => Promise<T>,
): Promise<T> {
  try {
    return await run(location);
  } catch (error) {
    if (!(error instanceof DevenvError) || error.code !== 'CONFIG_AMBIGUOUS' || !interactive || location.configFile !== undefined) throw error;
    const files = listConfigFiles(location.workspaceFolder);
    process.stderr.write(`${location.workspaceFolder} has several dev container configs:\n`);
    files.forEach((f, i) => process.stderr.write(`  ${i + 1}) ${relative(location.workspaceFolder, f)}\n`));
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    let answer: string;
    try {
      answer = (await rl.question(`Which one (1-${files.length})? `)).trim();
    } finally {
      rl.close();
    }
    const chosen = files[Number(answer) - 1];
    if (!/^\d+$/.test(answer) || chosen === undefined) throw error;
    process.stderr.write(`Next time, skip this question with --config ${relative(process.cwd(), chosen)}\n`);
    return run({ ...location, configFile: chosen });
  }
}
