import { posix } from 'node:path';

import type { DockerfileInstruction } from './dockerfile-parser.js';
import { dockerfileError } from './dockerfile-parser.js';
import { expandWord, expandWords } from './shell-words.js';
import { expandIn, stageLookup, type StageContext, type StageState } from './stage-state.js';

/** A COPY or ADD after expansion. */
export interface CopySpec {
  keyword: 'COPY' | 'ADD';
  /** Source paths or globs: context-relative, or paths in the `from` stage/image. */
  sources: string[];
  /** Absolute destination (relative ones resolved against WORKDIR). */
  dest: string;
  /** The destination names a directory: it ends with `/`, or there are several sources. */
  destIsDir: boolean;
  /** `--from=`: a stage name/index or an image reference. */
  from?: string;
  /** `--chown=user[:group]` as written (resolved against the stage's /etc/passwd later). */
  chown?: string;
  /** `--chmod=` octal mode for the copied files and directories. */
  chmod?: number;
}

/** Parse COPY/ADD flags and arguments (shell or JSON form) with the stage's variables. Pure. */
export function parseCopySpec(instr: DockerfileInstruction, state: StageState, ctx: StageContext): CopySpec {
  const name = ctx.dockerfileName;
  const keyword = instr.keyword as 'COPY' | 'ADD';
  const lookup = stageLookup(state);
  const spec: Partial<CopySpec> = {};
  for (const f of instr.flags) {
    const value = f.value === undefined ? undefined : expandIn(ctx, instr, () => expandWord(f.value as string, lookup, ctx.escape));
    if (f.name === 'from' && value) spec.from = value;
    else if (f.name === 'chown' && value) spec.chown = value;
    else if (f.name === 'chmod' && value) {
      if (!/^[0-7]{3,4}$/.test(value)) throw dockerfileError(name, instr.line, `${keyword} --chmod=${value}: use an octal mode such as 0755`);
      spec.chmod = parseInt(value, 8);
    } else if (f.name === 'link') {
      // a layer-independence hint for BuildKit; devenv's layers are always built on their parent
    } else {
      throw dockerfileError(name, instr.line, `${keyword}: unsupported flag --${f.name}`, 'devenv supports --from, --chown, --chmod and --link.');
    }
  }
  const words = instr.json ?? expandIn(ctx, instr, () => expandWords(instr.args, lookup, ctx.escape));
  if (words.length < 2) throw dockerfileError(name, instr.line, `${keyword} needs at least one source and a destination`);
  const destWord = words[words.length - 1] as string;
  const sources = words.slice(0, -1);
  const workdir = state.config.WorkingDir || '/';
  const dest = posix.resolve(workdir, destWord);
  return {
    keyword,
    sources,
    dest,
    destIsDir: destWord.endsWith('/') || sources.length > 1 || destWord === '.' || destWord.endsWith('/.'),
    ...spec,
  };
}
