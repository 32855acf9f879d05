import { describe, expect, it } from 'vitest';

import { planBuild } from '../../../../src/image/build/build-plan.js';
import { stepCacheKey } from '../../../../src/image/build/cache-key.js';
import { parseDockerfile } from '../../../../src/image/build/dockerfile-parser.js';
import { applyMetadata, runEnvironment, type StageContext, type StageState } from '../../../../src/image/build/stage-state.js';

const text = 'ARG TAG=1\nFROM base:${TAG} AS builder\nRUN make\nFROM scratch AS other\nFROM busybox\nCOPY --from=builder /a /a\n';

describe('planBuild', () => {
  it('expands FROM with global args, names stages and skips stages the target does not need', () => {
    const plan = planBuild(parseDockerfile(text), { buildArgs: { TAG: '2' } });
    expect(plan.stages.map((s) => [s.name, s.base])).toEqual([['builder', 'base:2'], ['other', 'scratch'], [undefined, 'busybox']]);
    expect(plan.order).toEqual([0, 2]);
    expect(planBuild(parseDockerfile(text), { buildArgs: {}, target: 'builder' }).order).toEqual([0]);
  });

  it('reports unknown instructions, missing targets and instructions before FROM with their line', () => {
    expect(() => planBuild(parseDockerfile('FROM x\n\nFOO bar\n'), { buildArgs: {} })).toThrow(/Dockerfile:3: unknown instruction `FOO`/);
    expect(() => planBuild(parseDockerfile('RUN x\n'), { buildArgs: {} })).toThrow(/Dockerfile:1: RUN before the first FROM/);
    expect(() => planBuild(parseDockerfile('FROM x\n'), { buildArgs: {}, target: 'nope' })).toThrow(/target stage `nope` not found/);
  });
});

describe('stage state and cache keys', () => {
  const ctx: StageContext = { dockerfileName: 'Dockerfile', escape: '\\', buildArgs: { V: 'given', HTTP_PROXY: 'http://p' }, globalArgs: new Map(), autoArgs: {}, consumed: new Set() };
  const apply = (state: StageState, line: string): StageState => applyMetadata(state, parseDockerfile(`FROM x\n${line}`).instructions[1]!, ctx).state;

  it('lets ENV win over ARG, passes proxy build args to RUN only, and resolves WORKDIR against the previous one', () => {
    let s: StageState = { config: { Env: ['PATH=/bin'] }, args: new Map() };
    s = apply(s, 'ARG V');
    s = apply(s, 'ARG W=dflt');
    s = apply(s, 'ENV W=env X=${V}');
    s = apply(s, 'WORKDIR /a');
    s = apply(s, 'WORKDIR b');
    expect(s.config.WorkingDir).toBe('/a/b');
    expect(runEnvironment(s, ctx).sort()).toEqual(['HTTP_PROXY=http://p', 'PATH=/bin', 'V=given', 'W=env', 'X=given'].sort());
    expect(ctx.consumed.has('V')).toBe(true);
  });

  it('chains keys: the same inputs give the same key, any change a different one', () => {
    const a = stepCacheKey(stepCacheKey('p', { RUN: ['sh', '-c', 'x'] }), { meta: 'ENV A=1' });
    expect(stepCacheKey(stepCacheKey('p', { RUN: ['sh', '-c', 'x'] }), { meta: 'ENV A=1' })).toBe(a);
    expect(stepCacheKey(stepCacheKey('p', { RUN: ['sh', '-c', 'y'] }), { meta: 'ENV A=1' })).not.toBe(a);
    expect(stepCacheKey(stepCacheKey('q', { RUN: ['sh', '-c', 'x'] }), { meta: 'ENV A=1' })).not.toBe(a);
  });
});
