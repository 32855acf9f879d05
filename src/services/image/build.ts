import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { DevenvError } from '../../errors.js';
import { randomHex } from '../../host/random-id.js';
import { planBuild, platformArgs, type BuildPlan, type BuildStage } from '../../image/build/build-plan.js';
import { baseCacheKey, stepCacheKey } from '../../image/build/cache-key.js';
import { parseDockerignore } from '../../image/build/context-match.js';
import { parseCopySpec } from '../../image/build/copy-spec.js';
import { parseDockerfile, type DockerfileInstruction } from '../../image/build/dockerfile-parser.js';
import { LayerTarWriter } from '../../image/build/layer-tar.js';
import { applyMetadata, commandOf, runArgsForKey, runEnvironment, type StageContext, type StageState } from '../../image/build/stage-state.js';
import { formatReference, parseImageReference } from '../../image/reference.js';
import type { ImageLayer, ImageStore } from '../../image/store/image-store.js';
import { hasGlob } from '../../image/build/context-match.js';
import { contextTree, layersTree, parentDirEntry, planCopy, resolveChown, writeCopyLayer, type SourceTree, type StageLookup } from './build-copy.js';
import { appendLayer, lowerdirsOf, readCacheRecord, storeLayerBlob, writeCacheRecord, type BuildCacheRecord } from './build-layers.js';
import { sweepBuildContainers } from './build-sweep.js';
import { readRootfsFile, resolveContainerUser } from '../../runtime/container-user.js';
import { findImage } from './find-image.js';
import { openStoreFor, unpackIdMappings, type ImageServiceContext } from './image-context.js';
import { writeBuiltImage, type HistoryEntry } from './build-image-config.js';
import { openFileDigests, type FileDigests } from './build-file-digests.js';

/** What `buildImage` reports while it works (the `--json` events of `image build`). */
export type BuildProgressEvent =
  | { type: 'step'; step: number; total: number; stage: string; line: number; instruction: string; cached?: boolean }
  | { type: 'output'; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'progress'; message: string }
  | { type: 'warning'; message: string };

/** A `docker build`. */
export interface BuildImageOptions {
  /** Path of the Dockerfile, or its text and the name to show in errors. */
  dockerfile: string | { text: string; name: string };
  /** The build context directory. */
  context: string;
  /** References to tag the image with (none: an untagged image, removed by the next `image prune`). */
  tags: string[];
  buildArgs?: Record<string, string>;
  /** Build up to this stage (`--target`). */
  target?: string;
  /** Run every step, ignoring the cache (results are still cached for later builds). */
  noCache?: boolean;
  /** Labels added to the image's config (e.g. `devcontainer.metadata` from `devenv build`). */
  labels?: Record<string, string>;
  onProgress?: (event: BuildProgressEvent) => void;
  signal?: AbortSignal;
}

export interface BuildImageResult {
  /** The config digest (Docker's image id). */
  imageId: string;
  manifestDigest: string;
  /** The first tag, normalised; absent for an untagged build. */
  reference?: string;
  references: string[];
  /** Steps run and steps taken from the cache (RUN, COPY, ADD, WORKDIR). */
  stepsRun: number;
  stepsCached: number;
}

/** The result of one built stage. */
interface StageResult {
  state: StageState;
  layers: ImageLayer[];
  history: HistoryEntry[];
  /** Cache key of the last step. */
  key: string;
  created: string;
  architecture: string;
  os: string;
}

interface BuildRun {
  ctx: ImageServiceContext;
  store: ImageStore;
  plan: BuildPlan;
  options: BuildImageOptions;
  stageCtx: StageContext;
  contextDir: string;
  tarDir: string;
  tree: SourceTree;
  /** sha256 of COPY sources, remembered across builds by stat. */
  digests: FileDigests;
  results: Map<number, StageResult>;
  step: number;
  total: number;
  run: number;
  cached: number;
  /** Called when a step is not cached and starts its work (announces the step before RUN output). */
  beforeRun?: () => void;
  /** Images named by FROM or COPY --from, resolved once per build. */
  images: Map<string, { manifestDigest: string; layers: ImageLayer[]; config: ReturnType<ImageStore['readImage']>['config'] }>;
}

function emit(b: BuildRun, event: BuildProgressEvent): void {
  b.options.onProgress?.(event);
}

/** Errors of a step carry the Dockerfile line (`Dockerfile:7: …`) unless they already do. */
async function atLine<T>(b: BuildRun, instr: DockerfileInstruction, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const prefix = `${b.plan.dockerfile.name}:${instr.line}: `;
    if (error instanceof DevenvError && !error.message.startsWith(prefix)) {
      throw new DevenvError(error.code, `${prefix}${error.message}`, {
        kind: error.kind,
        ...(error.hint ? { hint: error.hint } : {}),
        cause: error.cause ?? error,
        exitCode: error.exitCode,
      });
    }
    throw error;
  }
}

function readDockerfile(options: BuildImageOptions, contextDir: string): { text: string; name: string; dir: string } {
  if (typeof options.dockerfile !== 'string') return { ...options.dockerfile, dir: contextDir };
  const path = resolve(options.dockerfile);
  try {
    return { text: readFileSync(path, 'utf8'), name: options.dockerfile, dir: dirname(path) };
  } catch (error) {
    throw new DevenvError('USAGE', `cannot read the Dockerfile \`${options.dockerfile}\``, { hint: 'Check the -f path.', cause: error });
  }
}

function readIgnore(contextDir: string, dockerfilePath: string | undefined): string {
  // BuildKit: `<Dockerfile>.dockerignore` next to the Dockerfile wins over the context's `.dockerignore`
  for (const path of [dockerfilePath ? `${dockerfilePath}.dockerignore` : undefined, join(contextDir, '.dockerignore')]) {
    if (path && existsSync(path)) return readFileSync(path, 'utf8');
  }
  return '';
}

/** Remove layer tars left by builds that were killed (named `<pid>-…`). */
function sweepTarDir(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.split('-')[0]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch (error) {
      alive = (error as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) rmSync(join(dir, name), { force: true, recursive: true });
  }
}

async function resolveImage(b: BuildRun, text: string): Promise<{ manifestDigest: string; layers: ImageLayer[]; config: ReturnType<ImageStore['readImage']>['config'] }> {
  const known = b.images.get(text);
  if (known) return known;
  let found = findImage(b.store, text);
  if (!found) {
    emit(b, { type: 'progress', message: `pulling ${text}` });
    const { pullIntoStore } = await import('./pull.js');
    await pullIntoStore(b.ctx, b.store, parseImageReference(text), b.options.signal ? { signal: b.options.signal } : {});
    found = findImage(b.store, text);
    if (!found) throw new DevenvError('IMAGE_NOT_FOUND', `image \`${text}\` was pulled but is not in the store`, { kind: 'bug' });
  }
  const content = b.store.readImage(found.entry.manifestDigest, found.entry.chainIds);
  const image = { manifestDigest: content.manifestDigest, layers: content.layers, config: content.config };
  b.images.set(text, image);
  return image;
}

function stageLabel(stage: BuildStage): string {
  return stage.name ?? `stage-${stage.index}`;
}

async function startStage(b: BuildRun, stage: BuildStage): Promise<StageResult> {
  if (stage.baseStage !== undefined) {
    const base = b.results.get(stage.baseStage) as StageResult;
    return { ...base, state: { ...base.state, args: new Map() } };
  }
  const emptyState: StageState = { config: { Env: [] }, args: new Map() };
  if (stage.base.toLowerCase() === 'scratch') {
    return { state: emptyState, layers: [], history: [], key: baseCacheKey({}), created: new Date(0).toISOString(), architecture: platformArgs().TARGETARCH as string, os: 'linux' };
  }
  const image = await atLine(b, stage.from, () => resolveImage(b, stage.base));
  const c = image.config as typeof image.config & { created?: string; history?: HistoryEntry[] };
  const cfg = c.config ?? {};
  return {
    state: { config: { ...(cfg as StageState['config']), Env: cfg.Env ?? [] }, args: new Map() },
    layers: image.layers,
    history: c.history ?? [],
    key: baseCacheKey({ manifestDigest: image.manifestDigest }),
    created: c.created ?? new Date(0).toISOString(),
    architecture: c.architecture ?? (platformArgs().TARGETARCH as string),
    os: c.os ?? 'linux',
  };
}

/** Look the step up in the cache, or build it with `make` (which writes the layer tar); either way add its layer. */
async function layerStep(
  b: BuildRun,
  r: StageResult,
  key: string,
  createdBy: string,
  make: () => Promise<{ tarPath: string; digest: string; size: number; entries: number } | null>,
): Promise<{ result: StageResult; cached: boolean }> {
  let record: BuildCacheRecord | undefined = b.options.noCache ? undefined : readCacheRecord(b.store, b.ctx.root, key);
  const cached = record !== undefined;
  if (!record) {
    b.beforeRun?.();
    const made = await make();
    let layer: BuildCacheRecord['layer'] = null;
    if (made && made.entries > 0) {
      await storeLayerBlob(b.store, made.tarPath, made.digest, made.size);
      layer = { digest: made.digest, size: made.size };
    } else if (made) {
      rmSync(made.tarPath, { force: true });
    }
    record = { key, layer, created: new Date().toISOString(), createdBy };
    if (layer) record.chainId = appendLayer(r.layers, layer).at(-1)?.chainId;
    writeCacheRecord(b.ctx.root, record);
    b.run++;
  } else {
    b.cached++;
  }
  const history: HistoryEntry = { created: record.created, created_by: createdBy, comment: 'devenv build', ...(record.layer ? {} : { empty_layer: true }) };
  return {
    cached,
    result: { ...r, key, created: record.created, layers: record.layer ? appendLayer(r.layers, record.layer, record.chainId) : r.layers, history: [...r.history, history] },
  };
}

function newTar(b: BuildRun): { path: string; fd: number } {
  mkdirSync(b.tarDir, { recursive: true, mode: 0o700 });
  const path = join(b.tarDir, `${process.pid}-${randomHex(8)}.tar`);
  return { path, fd: openSync(path, 'wx', 0o600) };
}

async function copyTree(b: BuildRun, stageIndex: number, from: string | undefined): Promise<{ tree: SourceTree; identity: string }> {
  if (from === undefined) return { tree: b.tree, identity: 'context' };
  const { findStage } = await import('../../image/build/build-plan.js');
  const dep = findStage(b.plan.stages, from, stageIndex);
  if (dep !== undefined) {
    const r = b.results.get(dep) as StageResult;
    return { tree: layersTree(await lowerdirsOf(b.ctx, b.store, r.layers), `stage \`${from}\``), identity: `stage:${r.key}` };
  }
  let image;
  try {
    image = await resolveImage(b, from);
  } catch (error) {
    throw new DevenvError('BUILD_DOCKERFILE', `--from=${from}: no stage of that name, and no image that could be found or pulled`, {
      hint: `Stages: ${b.plan.stages.map((s) => s.name ?? String(s.index)).join(', ')}. (${(error as Error).message})`,
      cause: error,
    });
  }
  return { tree: layersTree(await lowerdirsOf(b.ctx, b.store, image.layers), `image \`${from}\``), identity: `image:${image.manifestDigest}` };
}

function existsIn(tree: SourceTree): (path: string) => boolean {
  return (path) => {
    try {
      return tree.lstat(path.replace(/^\/+/, '')) !== undefined;
    } catch {
      return true; // unreadable: it exists, leave it alone
    }
  };
}

/** Host id → the id the container sees, through the mappings layers are unpacked with (rootless); 65534 if unmapped. */
function containerId(id: number, maps: ReadonlyArray<{ containerID: number; hostID: number; size: number }> | undefined): number {
  if (!maps) return id;
  for (const m of maps) if (id >= m.hostID && id < m.hostID + m.size) return m.containerID + (id - m.hostID);
  return 65534;
}

/** The stage's merged layers as a layer step sees them: what exists, and existing directories' metadata. */
function stageLookup(b: BuildRun, tree: SourceTree): StageLookup {
  const maps = unpackIdMappings(b.ctx);
  return {
    exists: existsIn(tree),
    dir(rel) {
      let st;
      try {
        st = tree.lstat(rel);
      } catch {
        return undefined;
      }
      if (!st?.isDirectory()) return undefined;
      return { mode: st.mode & 0o7777, uid: containerId(st.uid, maps?.uidMappings), gid: containerId(st.gid, maps?.gidMappings), mtime: Math.floor(st.mtimeMs / 1000) };
    },
  };
}

async function runInstruction(b: BuildRun, stage: BuildStage, r: StageResult, instr: DockerfileInstruction): Promise<{ result: StageResult; cached?: boolean }> {
  const name = b.plan.dockerfile.name;
  switch (instr.keyword) {
    case 'RUN': {
      for (const f of instr.flags) {
        if (!(f.name === 'network' && ['default', 'host'].includes(f.value ?? ''))) {
          throw new DevenvError('BUILD_DOCKERFILE', `RUN --${f.name}${f.value ? `=${f.value}` : ''} is not supported by devenv build`, {
            hint: 'BuildKit-only RUN flags (--mount, --security, --network=none) are not available.',
          });
        }
      }
      const command = commandOf(instr, r.state);
      const createdBy = `RUN ${instr.json ? JSON.stringify(command) : command.join(' ')}`;
      const key = stepCacheKey(r.key, { RUN: command, args: runArgsForKey(r.state) });
      return layerStep(b, r, key, createdBy, async () => {
        const lowerdirs = await lowerdirsOf(b.ctx, b.store, r.layers);
        const { runBuildStep } = await import('./build-run.js');
        const out = await runBuildStep(
          b.ctx,
          {
            lowerdirs,
            command,
            env: runEnvironment(r.state, b.stageCtx),
            ...(r.state.config.User ? { user: r.state.config.User } : {}),
            ...(r.state.config.WorkingDir ? { workdir: r.state.config.WorkingDir } : {}),
            what: `${name}:${instr.line}`,
            onStdout: (c) => emit(b, { type: 'output', stream: 'stdout', text: c.toString('utf8') }),
            onStderr: (c) => emit(b, { type: 'output', stream: 'stderr', text: c.toString('utf8') }),
            ...(b.options.signal ? { signal: b.options.signal } : {}),
          },
          b.tarDir,
        );
        if (out.exitCode !== 0) {
          throw new DevenvError('BUILD_STEP_FAILED', `${name}:${instr.line}: \`${instr.text.slice(0, 200)}\` failed with exit code ${out.exitCode}`, {
            hint: 'Fix the command (its output is above); steps before it are cached.',
          });
        }
        return out.layer ?? null;
      });
    }
    case 'COPY':
    case 'ADD': {
      const spec = parseCopySpec(instr, r.state, b.stageCtx);
      const { tree, identity } = await copyTree(b, stage.index, spec.from);
      const single = !spec.destIsDir && spec.sources.length === 1 && !hasGlob(spec.sources[0] as string);
      let stageTree: SourceTree | undefined;
      const stageTreeOf = async (): Promise<SourceTree> => (stageTree ??= layersTree(await lowerdirsOf(b.ctx, b.store, r.layers), 'the stage'));
      const destTree = single ? await stageTreeOf() : undefined;
      const plan = await planCopy(spec, tree, (p) => destTree?.lstat(p.replace(/^\/+/, ''))?.isDirectory() ?? false, (path, st) => b.digests.digest(path, st));
      const createdBy = `${spec.keyword} ${spec.chown ? `--chown=${spec.chown} ` : ''}${spec.chmod !== undefined ? `--chmod=${spec.chmod.toString(8)} ` : ''}${spec.from ? `--from=${spec.from} ` : ''}${spec.sources.join(' ')} ${spec.dest}`;
      const key = stepCacheKey(r.key, {
        [spec.keyword]: { sources: spec.sources, dest: spec.dest, destIsDir: spec.destIsDir, chown: spec.chown, chmod: spec.chmod, from: identity },
        content: plan.contentHash,
      });
      return layerStep(b, r, key, createdBy, async () => {
        const st = await stageTreeOf();
        const owner = resolveChown(spec.chown, await lowerdirsOf(b.ctx, b.store, r.layers));
        const tar = newTar(b);
        try {
          const writer = new LayerTarWriter(tar.fd);
          await writeCopyLayer(plan, spec, owner, stageLookup(b, st), writer);
          const entries = writer.entries;
          return { tarPath: tar.path, ...writer.finish(), entries };
        } catch (error) {
          rmSync(tar.path, { force: true });
          throw error;
        } finally {
          closeSync(tar.fd);
        }
      });
    }
    case 'WORKDIR': {
      const applied = applyMetadata(r.state, instr, b.stageCtx);
      const dir = applied.state.config.WorkingDir as string;
      const key = stepCacheKey(r.key, { WORKDIR: dir });
      const next = { ...r, state: applied.state };
      return layerStep(b, next, key, applied.text, async () => {
        const lowerdirs = await lowerdirsOf(b.ctx, b.store, r.layers);
        const st = layersTree(lowerdirs, 'the stage');
        if (existsIn(st)(dir)) return null;
        // BuildKit makes the missing directories owned by the current USER
        const user = applied.state.config.User;
        const owner = user ? resolveContainerUser(user, { passwd: readRootfsFile(lowerdirs, 'etc/passwd'), group: readRootfsFile(lowerdirs, 'etc/group') }) : { uid: 0, gid: 0 };
        const tar = newTar(b);
        try {
          const writer = new LayerTarWriter(tar.fd);
          const parts = dir.split('/').filter(Boolean);
          const now = Math.floor(Date.now() / 1000);
          const stage = stageLookup(b, st);
          for (let i = 1; i <= parts.length; i++) {
            const entry = parentDirEntry(stage, parts.slice(0, i).join('/'), { mode: 0o755, uid: owner.uid, gid: owner.gid, mtime: now });
            if (entry) writer.add(entry);
          }
          const entries = writer.entries;
          return { tarPath: tar.path, ...writer.finish(), entries };
        } finally {
          closeSync(tar.fd);
        }
      });
    }
    default: {
      const applied = applyMetadata(r.state, instr, b.stageCtx);
      const key = stepCacheKey(r.key, { meta: applied.text });
      const history: HistoryEntry = { created: r.created, created_by: applied.text, comment: 'devenv build', empty_layer: true };
      return { result: { ...r, state: applied.state, key, history: [...r.history, history] } };
    }
  }
}

async function buildStage(b: BuildRun, stage: BuildStage): Promise<StageResult> {
  b.step++;
  emit(b, { type: 'step', step: b.step, total: b.total, stage: stageLabel(stage), line: stage.from.line, instruction: stage.from.text });
  let r = await startStage(b, stage);
  for (const instr of stage.instructions) {
    b.step++;
    b.options.signal?.throwIfAborted();
    const isLayerStep = ['RUN', 'COPY', 'ADD', 'WORKDIR'].includes(instr.keyword);
    // Announce before running, so RUN output follows its step line; the cache verdict follows as `cached`.
    let announced = false;
    const announce = (cached?: boolean): void => {
      if (announced) return;
      announced = true;
      emit(b, { type: 'step', step: b.step, total: b.total, stage: stageLabel(stage), line: instr.line, instruction: instr.text, ...(cached !== undefined ? { cached } : {}) });
    };
    if (isLayerStep && (b.options.noCache ?? false)) announce(false);
    b.beforeRun = () => announce(false);
    const out = await atLine(b, instr, () => runInstruction(b, stage, r, instr));
    b.beforeRun = undefined;
    announce(isLayerStep ? (out.cached ?? false) : undefined);
    r = out.result;
  }
  return r;
}

/**
 * Build an image from a Dockerfile without Docker or BuildKit (docs/build.md): RUN steps run in devenv containers
 * on the stage's layers and their upper dir becomes the step's layer; COPY/ADD layers are written from the context.
 * Every layer step is cached by its key (cache-key.ts). The store lock is held shared throughout, so no prune
 * removes layers mid-build; the image is recorded (and tagged) only at the end, so a failed build leaves no image,
 * and its containers are removed (a killed build's are swept by the next one).
 */
export async function buildImage(ctx: ImageServiceContext, options: BuildImageOptions): Promise<BuildImageResult> {
  const contextDir = resolve(options.context);
  let isDir = false;
  try {
    isDir = statSync(contextDir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new DevenvError('USAGE', `build context \`${options.context}\` is not a directory`, { hint: 'Pass the context directory as the last argument (often `.`).' });
  const df = readDockerfile(options, contextDir);
  const dockerfile = parseDockerfile(df.text, df.name);
  const buildArgs = options.buildArgs ?? {};
  const plan = planBuild(dockerfile, { buildArgs, ...(options.target !== undefined ? { target: options.target } : {}) });
  const tags = options.tags.map((t) => formatReference(parseImageReference(t)));
  const ignore = parseDockerignore(readIgnore(contextDir, typeof options.dockerfile === 'string' ? resolve(options.dockerfile) : undefined));

  const store = openStoreFor(ctx);
  const lock = await store.lockShared({ timeoutMs: 300_000, ...(options.signal ? { signal: options.signal } : {}) });
  try {
    const tarDir = join(ctx.root, 'images', 'build-tmp');
    sweepTarDir(tarDir);
    const swept = await sweepBuildContainers(ctx);
    if (swept > 0) ctx.logger.debug(`removed ${swept} build containers of interrupted builds`);
    const stageCtx: StageContext = {
      dockerfileName: dockerfile.name,
      escape: dockerfile.escape,
      buildArgs,
      globalArgs: plan.globalArgs,
      autoArgs: platformArgs(),
      consumed: new Set(),
    };
    for (const name of Object.keys(buildArgs)) if (plan.globalArgs.has(name)) stageCtx.consumed.add(name);
    const b: BuildRun = {
      ctx,
      store,
      plan,
      options,
      stageCtx,
      contextDir,
      tarDir,
      tree: contextTree(contextDir, ignore),
      digests: openFileDigests(ctx.root),
      results: new Map(),
      step: 0,
      total: plan.order.reduce((n, i) => n + 1 + (plan.stages[i] as BuildStage).instructions.length, 0),
      run: 0,
      cached: 0,
      images: new Map(),
    };
    for (const index of plan.order) b.results.set(index, await buildStage(b, plan.stages[index] as BuildStage));
    const { PROXY_ARGS } = await import('../../image/build/build-plan.js');
    const unused = Object.keys(buildArgs).filter((k) => !stageCtx.consumed.has(k) && !PROXY_ARGS.has(k));
    if (unused.length > 0) emit(b, { type: 'warning', message: `build args not consumed by any ARG: ${unused.join(', ')}` });
    const final = b.results.get(plan.target) as StageResult;
    const previous = tags.length > 0 ? store.index.get(tags[0] as string) : undefined;
    const written = await writeBuiltImage(store, {
      ...(previous ? { previous: { configDigest: previous.configDigest, manifestDigest: previous.manifestDigest } } : {}),
      layers: final.layers,
      config: final.state.config,
      ...(final.state.author ? { author: final.state.author } : {}),
      history: final.history,
      created: final.created,
      architecture: final.architecture,
      os: final.os,
      labels: options.labels ?? {},
    });
    b.digests.save();
    const chainIds = final.layers.map((l) => l.chainId);
    for (const reference of tags) {
      // an unchanged rebuild leaves the index as it is (no write, no fsync)
      const known = store.index.get(reference);
      if (known && known.manifestDigest === written.manifestDigest && known.configDigest === written.configDigest && known.chainIds?.join() === chainIds.join()) continue;
      await store.index.set(reference, {
        manifestDigest: written.manifestDigest,
        configDigest: written.configDigest,
        created: new Date().toISOString(),
        chainIds,
      });
    }
    return {
      imageId: written.configDigest,
      manifestDigest: written.manifestDigest,
      ...(tags[0] ? { reference: tags[0] } : {}),
      references: tags,
      stepsRun: b.run,
      stepsCached: b.cached,
    };
  } finally {
    lock.release();
  }
}
