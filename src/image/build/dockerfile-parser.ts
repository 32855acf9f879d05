import { DevenvError } from '../../errors.js';

/** One instruction of a Dockerfile, as written (before variable expansion). */
export interface DockerfileInstruction {
  /** Upper-case keyword: `RUN`, `COPY` … */
  keyword: string;
  /** 1-based line where the instruction starts, and where it ends (continuations, heredocs). */
  line: number;
  endLine: number;
  /** `--name=value` flags before the arguments (FROM, RUN, COPY, ADD, HEALTHCHECK). */
  flags: Array<{ name: string; value: string | undefined }>;
  /** The arguments after the keyword and flags, continuations joined, trimmed. */
  args: string;
  /** The JSON (exec) form, when the arguments are a JSON array of strings. */
  json?: string[];
  /** Heredoc bodies following the instruction (RUN only), already appended to `args` for the shell. */
  heredocs?: string[];
  /** The instruction's text as shown in progress and history (`RUN apt-get update`). */
  text: string;
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  /** Shown in errors: the path, or a name given with the text. */
  name: string;
  /** The escape character (`\` or a backtick from `# escape=`). */
  escape: string;
  instructions: DockerfileInstruction[];
}

const FLAG_KEYWORDS = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'HEALTHCHECK']);

/** The error for a Dockerfile problem at a line: `Dockerfile:7: unknown instruction FOO`. */
export function dockerfileError(name: string, line: number, message: string, hint?: string): DevenvError {
  return new DevenvError('BUILD_DOCKERFILE', `${name}:${line}: ${message}`, hint ? { hint } : {});
}

function parseDirectives(lines: string[]): { escape: string; first: number } {
  let escape = '\\';
  let i = 0;
  for (; i < lines.length; i++) {
    const m = /^\s*#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$/.exec(lines[i] ?? '');
    if (!m) break;
    const key = (m[1] as string).toLowerCase();
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw dockerfileError('Dockerfile', i + 1, `invalid escape character \`${m[2]}\`: use \\ or \``);
      escape = m[2];
    } else if (key !== 'syntax' && key !== 'check') {
      break; // an ordinary comment that looks like a directive ends the directives, as Docker does
    }
  }
  return { escape, first: i };
}

function endsWithEscape(line: string, escape: string): boolean {
  const trimmed = line.replace(/\s+$/, '');
  return trimmed.endsWith(escape) && trimmed.length > 0;
}

/** Split leading `--flag[=value]` words off the arguments. */
function splitFlags(args: string): { flags: DockerfileInstruction['flags']; rest: string } {
  const flags: DockerfileInstruction['flags'] = [];
  let rest = args;
  for (;;) {
    const m = /^--([a-zA-Z][a-zA-Z0-9-]*)(?:=((?:"[^"]*"|'[^']*'|[^\s])*))?(?:\s+|$)/.exec(rest);
    if (!m) break;
    flags.push({ name: m[1] as string, value: m[2] });
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

function parseJsonForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // not JSON: the shell form, as Docker treats it
  }
  return undefined;
}

const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

/**
 * Parse a Dockerfile's text: parser directives (`# syntax=` ignored, `# escape=`), comments, line continuations,
 * flags, the JSON form, and heredocs for RUN. Keywords are checked later (instruction semantics), so an unknown
 * instruction is reported there with its line. Pure.
 */
export function parseDockerfile(text: string, name = 'Dockerfile'): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape: string;
  let first: number;
  try {
    ({ escape, first } = parseDirectives(lines));
  } catch (error) {
    if (error instanceof DevenvError) throw new DevenvError('BUILD_DOCKERFILE', error.message.replace(/^Dockerfile:/, `${name}:`));
    throw error;
  }
  const instructions: DockerfileInstruction[] = [];
  let i = first;
  while (i < lines.length) {
    const raw = lines[i] ?? '';
    if (raw.trim() === '' || /^\s*#/.test(raw)) {
      i++;
      continue;
    }
    const start = i;
    let joined = '';
    let current = raw;
    for (;;) {
      if (endsWithEscape(current, escape)) {
        const trimmed = current.replace(/\s+$/, '');
        joined += trimmed.slice(0, -1);
        i++;
        // comment and empty lines inside a continuation are dropped, as Docker does
        while (i < lines.length && (/^\s*#/.test(lines[i] ?? '') || (lines[i] ?? '').trim() === '')) i++;
        if (i >= lines.length) break;
        current = lines[i] ?? '';
        continue;
      }
      joined += current;
      i++;
      break;
    }
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(joined);
    if (!m) continue;
    const keyword = (m[1] as string).toUpperCase();
    let argsText = (m[2] as string).trim();
    const { flags, rest } = FLAG_KEYWORDS.has(keyword) ? splitFlags(argsText) : { flags: [], rest: argsText };
    argsText = rest.trim();
    const json = parseJsonForm(argsText);
    const instruction: DockerfileInstruction = { keyword, line: start + 1, endLine: i, flags, args: argsText, text: `${keyword} ${joined.trim().slice((m[1] as string).length).trim()}` };
    if (json) instruction.json = json;
    if (!json && (keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD')) {
      const heredocs = [...argsText.matchAll(HEREDOC)];
      if (heredocs.length > 0) {
        if (keyword !== 'RUN') throw dockerfileError(name, start + 1, `heredocs are supported in RUN only, not in ${keyword}`);
        const bodies: string[] = [];
        const scripts: string[] = [];
        for (const h of heredocs) {
          const strip = h[1] === '-';
          const word = h[3] as string;
          const body: string[] = [];
          for (;;) {
            if (i >= lines.length) throw dockerfileError(name, start + 1, `heredoc \`${word}\` is not terminated`);
            const l = lines[i] ?? '';
            i++;
            if ((strip ? l.replace(/^\t+/, '') : l) === word) break;
            body.push(strip ? l.replace(/^\t+/, '') : l);
          }
          bodies.push(`${body.join('\n')}\n${word}`);
          scripts.push(body.join('\n'));
        }
        instruction.heredocs = bodies;
        // `RUN <<EOF` alone runs the body as the script (BuildKit); otherwise the shell reads the heredocs itself.
        const only = heredocs.length === 1 && argsText.trim() === (heredocs[0] as RegExpMatchArray)[0];
        instruction.args = only ? (scripts[0] as string) : `${argsText}\n${bodies.join('\n')}`;
        instruction.endLine = i;
      }
    }
    instructions.push(instruction);
  }
  return { name, escape, instructions };
}
