import { writeSync } from 'node:fs';

import { DevenvError } from '../errors.js';
import { buildImage } from '../services/image/build.js';
import { createBuildProgressPrinter } from '../ui/build-progress.js';
import { GLOBAL_ARG_SPECS } from './container-flags.js';
import { parseDockerArgs, type ArgSpec, type ParsedFlags } from './docker-args.js';
import { contextFromFlags, runDockerStyle } from './docker-style-io.js';

/** `image build` flags, as `docker build` spells them (also the oclif command's, for --help). */
export const IMAGE_BUILD_ARG_SPECS: readonly ArgSpec[] = [
  ...GLOBAL_ARG_SPECS,
  { name: 'file', short: 'f', type: 'string', description: 'the Dockerfile (default: CONTEXT/Dockerfile)' },
  { name: 'tag', short: 't', type: 'multiple', description: 'name the image (repeatable)' },
  { name: 'build-arg', type: 'multiple', description: 'KEY=VALUE for an ARG (repeatable)' },
  { name: 'target', type: 'string', description: 'build up to this stage' },
  { name: 'no-cache', type: 'boolean', description: 'run every step instead of using cached layers' },
  { name: 'quiet', short: 'q', type: 'boolean', description: 'print only the image id' },
];

/** `--build-arg K=V` (or K alone: the value from this environment, skipped when unset), as Docker does. */
export function parseBuildArgs(values: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq === -1 ? v : v.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new DevenvError('USAGE', `invalid --build-arg \`${v}\`: expected KEY=VALUE`);
    if (eq !== -1) out[key] = v.slice(eq + 1);
    else if (env[key] !== undefined) out[key] = env[key] as string;
  }
  return out;
}

/** docker build takes flags before and after CONTEXT: parse the words after each positional again. */
function parseFlagsAnywhere(argv: readonly string[]): { flags: ParsedFlags; positionals: string[] } {
  const flags: ParsedFlags = {};
  const positionals: string[] = [];
  let rest = [...argv];
  while (rest.length > 0) {
    const parsed = parseDockerArgs(rest, IMAGE_BUILD_ARG_SPECS, { command: 'image build', leadingPositionals: 1 });
    for (const [k, v] of Object.entries(parsed.flags)) {
      const prev = flags[k];
      flags[k] = Array.isArray(prev) && Array.isArray(v) ? [...prev, ...v] : v === undefined ? prev : v;
    }
    const [first, ...after] = parsed.positionals;
    if (first === undefined) break;
    positionals.push(first);
    rest = after;
  }
  return { flags, positionals };
}

/**
 * The result on stdout with one write(2): touching process.stdout loads Node's stream machinery (~5 ms of a cached
 * rebuild). A non-blocking pipe that is full falls back to process.stdout.
 */
function printResult(text: string): void {
  const bytes = Buffer.from(text);
  let off = 0;
  try {
    while (off < bytes.length) off += writeSync(1, bytes, off);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    process.stdout.write(bytes.subarray(off));
  }
}

/** `devenv image build [FLAGS] CONTEXT` on the fast path (bin/devenv): no oclif, so a cached rebuild starts quickly. */
export async function imageBuildMain(argv: readonly string[]): Promise<number> {
  return runDockerStyle(argv, 'devenv image build', async (json) => {
    const { flags, positionals } = parseFlagsAnywhere(argv);
    const [context, ...extra] = positionals;
    if (!context || extra.length > 0) throw new DevenvError('USAGE', 'image build: expected one CONTEXT directory', { hint: 'Usage: devenv image build [-f Dockerfile] [-t NAME]… CONTEXT' });
    const quiet = flags.quiet === true;
    const result = await buildImage(contextFromFlags(flags), {
      dockerfile: typeof flags.file === 'string' ? flags.file : `${context.replace(/\/+$/, '')}/Dockerfile`,
      context,
      tags: (flags.tag as string[] | undefined) ?? [],
      buildArgs: parseBuildArgs((flags['build-arg'] as string[] | undefined) ?? [], process.env),
      ...(typeof flags.target === 'string' ? { target: flags.target } : {}),
      noCache: flags['no-cache'] === true,
      onProgress: createBuildProgressPrinter(json ? 'json' : quiet ? 'quiet' : 'plain'),
    });
    if (json) printResult(`${JSON.stringify({ outcome: 'success', ...result }, null, 2)}\n`);
    else if (quiet) printResult(`${result.imageId}\n`);
    else printResult(`${[`Successfully built ${result.imageId.slice(7, 19)}`, ...result.references.map((r) => `Successfully tagged ${r}`)].join('\n')}\n`);
    return 0;
  });
}
