import { posix } from 'node:path';

import type { DockerfileInstruction } from './dockerfile-parser.js';
import { dockerfileError } from './dockerfile-parser.js';
import { PROXY_ARGS } from './build-plan.js';
import { expandWord, expandWords, parseKeyValues, splitWords, UnsetVariableError, type VariableLookup } from './shell-words.js';

/** The image config fields a Dockerfile sets (OCI image config `config`). */
export interface StageConfig {
  Env: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  StopSignal?: string;
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  Shell?: string[];
}

/** What a stage knows while it is built: its config so far and the ARGs in scope. */
export interface StageState {
  config: StageConfig;
  /** ARGs declared in this stage, with their values (undefined: declared without value and not given). */
  args: Map<string, string | undefined>;
  /** The image's author (MAINTAINER). */
  author?: string;
}

/** Where the build is: for error messages and ARG values. */
export interface StageContext {
  dockerfileName: string;
  escape: string;
  buildArgs: Record<string, string>;
  globalArgs: Map<string, string | undefined>;
  /** Automatic args (TARGETARCH …) an `ARG NAME` without default picks up. */
  autoArgs: Record<string, string>;
  /** Build args an ARG consumed (for the "not consumed" warning). */
  consumed: Set<string>;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export function envValue(env: readonly string[], name: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    const e = env[i] as string;
    if (e.startsWith(`${name}=`)) return e.slice(name.length + 1);
  }
  return undefined;
}

export function setEnv(env: readonly string[], name: string, value: string): string[] {
  return [...env.filter((e) => !e.startsWith(`${name}=`) && e !== name), `${name}=${value}`];
}

/** ENV wins over ARG of the same name, as in Docker. */
export function stageLookup(state: StageState): VariableLookup {
  return (name) => envValue(state.config.Env, name) ?? state.args.get(name);
}

/** The environment a RUN sees: the stage's ENV plus the ARGs in scope (and proxy build args), ENV winning. */
export function runEnvironment(state: StageState, ctx: StageContext): string[] {
  let env: string[] = [];
  for (const [k, v] of state.args) if (v !== undefined) env = setEnv(env, k, v);
  for (const k of PROXY_ARGS) if (ctx.buildArgs[k] !== undefined && !state.args.has(k)) env = setEnv(env, k, ctx.buildArgs[k] as string);
  for (const e of state.config.Env) {
    const eq = e.indexOf('=');
    env = setEnv(env, eq === -1 ? e : e.slice(0, eq), eq === -1 ? '' : e.slice(eq + 1));
  }
  return env;
}

/** The ARGs that are part of a RUN's identity (proxy args are not, as in Docker): `NAME=value`, sorted. */
export function runArgsForKey(state: StageState): string[] {
  return [...state.args.entries()].filter(([k, v]) => v !== undefined && !PROXY_ARGS.has(k)).map(([k, v]) => `${k}=${v}`).sort();
}

function fail(ctx: StageContext, instr: DockerfileInstruction, message: string, hint?: string): never {
  throw dockerfileError(ctx.dockerfileName, instr.line, message, hint);
}

/** Expand, turning lexer errors into file:line errors. */
export function expandIn<T>(ctx: StageContext, instr: DockerfileInstruction, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof UnsetVariableError) fail(ctx, instr, `${instr.keyword}: ${error.message}`);
    throw error;
  }
}

/** The exec-form (JSON) argument list, or the shell form wrapped in the stage's SHELL. */
export function commandOf(instr: DockerfileInstruction, state: StageState): string[] {
  return instr.json ?? [...(state.config.Shell ?? DEFAULT_SHELL), instr.args];
}

/** Docker's duration strings for HEALTHCHECK (`30s`, `1m30s`, `500ms`) in nanoseconds. */
export function parseDuration(text: string): number | undefined {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * (units[m[2] as string] as number);
  return Math.round(total);
}

/**
 * Apply an instruction that only changes the config (ENV, ARG, WORKDIR's path, USER, LABEL, EXPOSE, ENTRYPOINT,
 * CMD, SHELL, VOLUME, HEALTHCHECK, STOPSIGNAL, MAINTAINER). Returns the new state and the canonical text of what
 * it did (history `created_by`, and the cache key's input). Pure.
 */
export function applyMetadata(state: StageState, instr: DockerfileInstruction, ctx: StageContext): { state: StageState; text: string } {
  const lookup = stageLookup(state);
  const next: StageState = { ...state, config: { ...state.config }, args: new Map(state.args) };
  const c = next.config;
  const k = instr.keyword;
  const ex = <T>(fn: () => T): T => expandIn(ctx, instr, fn);
  switch (k) {
    case 'ENV': {
      const pairs = ex(() => parseKeyValues(instr.args, lookup, ctx.escape));
      if (pairs.length === 0) fail(ctx, instr, 'ENV needs KEY=VALUE');
      for (const [key, value] of pairs) c.Env = setEnv(c.Env, key, value);
      return { state: next, text: `ENV ${pairs.map(([a, b]) => `${a}=${b}`).join(' ')}` };
    }
    case 'ARG': {
      const words = splitWords(instr.args, ctx.escape);
      if (words.length === 0) fail(ctx, instr, 'ARG needs a name');
      const shown: string[] = [];
      for (const word of words) {
        const eq = word.indexOf('=');
        const argName = eq === -1 ? word : word.slice(0, eq);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(argName)) fail(ctx, instr, `invalid ARG name \`${argName}\``);
        let value: string | undefined;
        if (ctx.buildArgs[argName] !== undefined) {
          value = ctx.buildArgs[argName];
          ctx.consumed.add(argName);
        } else if (eq !== -1) {
          value = ex(() => expandWord(word.slice(eq + 1), stageLookup(next), ctx.escape));
        } else if (ctx.globalArgs.has(argName)) {
          value = ctx.globalArgs.get(argName);
        } else {
          value = ctx.autoArgs[argName];
        }
        next.args.set(argName, value);
        shown.push(value === undefined ? argName : `${argName}=${value}`);
      }
      return { state: next, text: `ARG ${shown.join(' ')}` };
    }
    case 'WORKDIR': {
      const path = ex(() => expandWord(instr.args, lookup, ctx.escape));
      if (path === '') fail(ctx, instr, 'WORKDIR needs a path');
      c.WorkingDir = posix.resolve(c.WorkingDir || '/', path);
      return { state: next, text: `WORKDIR ${c.WorkingDir}` };
    }
    case 'USER': {
      const user = ex(() => expandWord(instr.args, lookup, ctx.escape)).trim();
      if (user === '' || /\s/.test(user)) fail(ctx, instr, 'USER takes one user[:group]');
      c.User = user;
      return { state: next, text: `USER ${user}` };
    }
    case 'LABEL': {
      const pairs = ex(() => parseKeyValues(instr.args, lookup, ctx.escape, false));
      if (pairs.length === 0) fail(ctx, instr, 'LABEL needs KEY=VALUE');
      c.Labels = { ...(c.Labels ?? {}) };
      for (const [key, value] of pairs) c.Labels[key] = value;
      return { state: next, text: `LABEL ${pairs.map(([a, b]) => `${a}=${b}`).join(' ')}` };
    }
    case 'MAINTAINER': {
      next.author = instr.args;
      return { state: next, text: `MAINTAINER ${instr.args}` };
    }
    case 'EXPOSE': {
      const ports = ex(() => expandWords(instr.args, lookup, ctx.escape));
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
      for (const p of ports) {
        const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
        if (!m) fail(ctx, instr, `EXPOSE: invalid port \`${p}\``);
        const proto = (m[3] ?? 'tcp').toLowerCase();
        const lo = Number(m[1]);
        const hi = m[2] === undefined ? lo : Number(m[2]);
        for (let port = lo; port <= hi; port++) c.ExposedPorts[`${port}/${proto}`] = {};
      }
      return { state: next, text: `EXPOSE ${ports.join(' ')}` };
    }
    case 'ENTRYPOINT':
    case 'CMD': {
      const command = instr.json ?? (instr.args === '' ? [] : commandOf(instr, state));
      if (k === 'ENTRYPOINT') {
        c.Entrypoint = command;
        delete c.Cmd; // Docker: a new ENTRYPOINT resets the CMD inherited from the base
      } else {
        c.Cmd = command;
      }
      return { state: next, text: `${k} ${JSON.stringify(command)}` };
    }
    case 'SHELL': {
      if (!instr.json || instr.json.length === 0) fail(ctx, instr, 'SHELL needs the JSON form, e.g. SHELL ["/bin/bash", "-c"]');
      c.Shell = instr.json;
      return { state: next, text: `SHELL ${JSON.stringify(instr.json)}` };
    }
    case 'VOLUME': {
      const vols = instr.json ?? ex(() => expandWords(instr.args, lookup, ctx.escape));
      if (vols.length === 0) fail(ctx, instr, 'VOLUME needs a path');
      c.Volumes = { ...(c.Volumes ?? {}) };
      for (const v of vols) c.Volumes[v] = {};
      return { state: next, text: `VOLUME ${JSON.stringify(vols)}` };
    }
    case 'STOPSIGNAL': {
      const sig = ex(() => expandWord(instr.args, lookup, ctx.escape)).trim();
      if (!/^(SIG)?[A-Z0-9+-]+$|^\d+$/.test(sig)) fail(ctx, instr, `STOPSIGNAL: invalid signal \`${sig}\``);
      c.StopSignal = sig;
      return { state: next, text: `STOPSIGNAL ${sig}` };
    }
    case 'HEALTHCHECK': {
      const words = splitWords(instr.args, ctx.escape);
      const type = (words[0] ?? '').toUpperCase();
      if (type === 'NONE') {
        c.Healthcheck = { Test: ['NONE'] };
        return { state: next, text: 'HEALTHCHECK NONE' };
      }
      if (type !== 'CMD') fail(ctx, instr, 'HEALTHCHECK takes NONE or [OPTIONS] CMD command');
      const rest = instr.args.trim().slice(words[0]?.length ?? 0).trim();
      let json: string[] | undefined;
      try {
        const v = JSON.parse(rest) as unknown;
        if (Array.isArray(v) && v.every((x) => typeof x === 'string')) json = v as string[];
      } catch {
        json = undefined;
      }
      const hc: NonNullable<StageConfig['Healthcheck']> = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', rest] };
      for (const f of instr.flags) {
        const key = ({ interval: 'Interval', timeout: 'Timeout', 'start-period': 'StartPeriod', 'start-interval': 'StartInterval' } as const)[f.name as 'interval'];
        if (key) {
          const ns = parseDuration(f.value ?? '');
          if (ns === undefined) fail(ctx, instr, `HEALTHCHECK --${f.name}: invalid duration \`${f.value ?? ''}\``);
          hc[key] = ns;
        } else if (f.name === 'retries' && /^\d+$/.test(f.value ?? '')) {
          hc.Retries = Number(f.value);
        } else {
          fail(ctx, instr, `HEALTHCHECK: unknown flag --${f.name}`);
        }
      }
      c.Healthcheck = hc;
      return { state: next, text: `HEALTHCHECK ${JSON.stringify(hc)}` };
    }
    default:
      return fail(ctx, instr, `${k} is not a metadata instruction`);
  }
}
