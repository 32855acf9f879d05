import type { Dockerfile, DockerfileInstruction } from './dockerfile-parser.js';
import { dockerfileError } from './dockerfile-parser.js';
import { expandWord, expandWords, splitWords } from './shell-words.js';

/** Instructions devenv builds; anything else fails with its line. */
export const SUPPORTED_INSTRUCTIONS = new Set([
  'FROM', 'RUN', 'COPY', 'ADD', 'ENV', 'ARG', 'WORKDIR', 'USER', 'LABEL', 'EXPOSE', 'ENTRYPOINT', 'CMD', 'SHELL', 'VOLUME',
  'HEALTHCHECK', 'STOPSIGNAL', 'MAINTAINER',
]);

/** Args every build defines without an ARG line, kept out of cache keys and history (Docker's proxy args). */
export const PROXY_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

/** BuildKit's automatic platform args (usable after `ARG NAME` in a stage, or in FROM). */
export function platformArgs(): Record<string, string> {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch;
  const platform = `linux/${arch}`;
  return {
    TARGETPLATFORM: platform, TARGETOS: 'linux', TARGETARCH: arch, TARGETVARIANT: '',
    BUILDPLATFORM: platform, BUILDOS: 'linux', BUILDARCH: arch, BUILDVARIANT: '',
  };
}

/** One stage of a multi-stage build. */
export interface BuildStage {
  index: number;
  /** `AS name`, lower-cased as Docker compares them. */
  name?: string;
  /** The FROM instruction. */
  from: DockerfileInstruction;
  /** What FROM names after expansion: an image reference, `scratch`, or an earlier stage (then `baseStage`). */
  base: string;
  baseStage?: number;
  instructions: DockerfileInstruction[];
}

/** What to build, in which order. */
export interface BuildPlan {
  dockerfile: Dockerfile;
  /** ARGs declared before the first FROM, with their values (defaults or build args). */
  globalArgs: Map<string, string | undefined>;
  stages: BuildStage[];
  /** The stage whose result is the image (`--target`, default the last). */
  target: number;
  /** Stages to build, in Dockerfile order (the target and what it depends on). */
  order: number[];
}

export interface PlanOptions {
  buildArgs: Record<string, string>;
  target?: string;
}

function flagValue(instr: DockerfileInstruction, name: string): string | undefined {
  return instr.flags.find((f) => f.name === name)?.value;
}

/** A stage named by `--from=` or FROM: a name or an index; undefined when it is not a stage (an image). */
export function findStage(stages: readonly BuildStage[], ref: string, before: number): number | undefined {
  const lower = ref.toLowerCase();
  const named = stages.findIndex((s) => s.name === lower);
  if (named !== -1 && named < before) return named;
  if (/^\d+$/.test(ref)) {
    const i = Number(ref);
    if (i < before) return i;
  }
  return undefined;
}

/**
 * Split a parsed Dockerfile into stages, expand FROM lines with the global ARGs, check every keyword, and work out
 * which stages the target needs. Pure.
 */
export function planBuild(dockerfile: Dockerfile, options: PlanOptions): BuildPlan {
  const name = dockerfile.name;
  const globalArgs = new Map<string, string | undefined>();
  const auto = platformArgs();
  const lookup = (n: string): string | undefined => (globalArgs.has(n) ? globalArgs.get(n) : auto[n]);
  const stages: BuildStage[] = [];
  for (const instr of dockerfile.instructions) {
    if (!SUPPORTED_INSTRUCTIONS.has(instr.keyword)) {
      if (instr.keyword === 'ONBUILD') throw dockerfileError(name, instr.line, 'ONBUILD is not supported by devenv build');
      throw dockerfileError(name, instr.line, `unknown instruction \`${instr.keyword}\``, 'Check the spelling; devenv builds FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, LABEL, EXPOSE, ENTRYPOINT, CMD, SHELL, VOLUME, HEALTHCHECK and STOPSIGNAL.');
    }
    if (instr.keyword === 'FROM') {
      const words = expandWords(instr.args, lookup, dockerfile.escape);
      for (const f of instr.flags) {
        if (f.name !== 'platform') throw dockerfileError(name, instr.line, `FROM: unknown flag --${f.name}`);
      }
      if (words.length !== 1 && !(words.length === 3 && (words[1] as string).toLowerCase() === 'as')) {
        throw dockerfileError(name, instr.line, 'FROM takes an image and an optional `AS name`');
      }
      const base = words[0] as string;
      if (base === '') throw dockerfileError(name, instr.line, `FROM: \`${instr.args}\` expands to an empty image name`, 'Give the ARG a default or pass --build-arg.');
      const stageName = words[2]?.toLowerCase();
      if (stageName !== undefined) {
        if (!/^[a-z][a-z0-9-_.]*$/.test(stageName)) throw dockerfileError(name, instr.line, `invalid stage name \`${words[2]}\``);
        if (stages.some((s) => s.name === stageName)) throw dockerfileError(name, instr.line, `duplicate stage name \`${words[2]}\``);
      }
      const baseStage = findStage(stages, base, stages.length);
      stages.push({ index: stages.length, ...(stageName ? { name: stageName } : {}), from: instr, base, ...(baseStage !== undefined ? { baseStage } : {}), instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (instr.keyword !== 'ARG') throw dockerfileError(name, instr.line, `${instr.keyword} before the first FROM`, 'Only ARG may come before FROM.');
      for (const word of splitWords(instr.args, dockerfile.escape)) {
        const eq = word.indexOf('=');
        const argName = eq === -1 ? word : word.slice(0, eq);
        const value = options.buildArgs[argName] ?? (eq === -1 ? undefined : expandWord(word.slice(eq + 1), lookup, dockerfile.escape));
        globalArgs.set(argName, value);
      }
      continue;
    }
    stage.instructions.push(instr);
  }
  if (stages.length === 0) throw dockerfileError(name, 1, 'no FROM instruction', 'A Dockerfile starts with `FROM image` (after optional ARGs).');
  let target = stages.length - 1;
  if (options.target !== undefined) {
    const found = stages.findIndex((s) => s.name === options.target?.toLowerCase());
    if (found === -1) {
      throw dockerfileError(name, 1, `target stage \`${options.target}\` not found`, `Stages: ${stages.map((s) => s.name ?? String(s.index)).join(', ')}.`);
    }
    target = found;
  }
  // Which stages the target needs: its base stage and every COPY --from stage, transitively.
  const needed = new Set<number>();
  const visit = (i: number): void => {
    if (needed.has(i)) return;
    needed.add(i);
    const stage = stages[i] as BuildStage;
    if (stage.baseStage !== undefined) visit(stage.baseStage);
    for (const instr of stage.instructions) {
      if (instr.keyword !== 'COPY' && instr.keyword !== 'ADD') continue;
      const from = flagValue(instr, 'from');
      if (from === undefined) continue;
      const ref = expandWord(from, lookup, dockerfile.escape);
      const dep = findStage(stages, ref, i);
      if (dep === undefined && stages.some((s, j) => j >= i && (s.name === ref.toLowerCase() || String(j) === ref))) {
        throw dockerfileError(name, instr.line, `${instr.keyword} --from=${ref}: stage \`${ref}\` is defined later (or is this stage)`);
      }
      if (dep !== undefined) visit(dep);
    }
  };
  visit(target);
  return { dockerfile, globalArgs, stages, target, order: [...needed].sort((a, b) => a - b) };
}
