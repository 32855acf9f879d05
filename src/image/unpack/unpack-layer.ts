import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { DevenvError, toDevenvError } from '../../errors.js';
import { runtimeBinary } from '../../host/native-addon.js';
import { layerCompression } from '../registry/media-types.js';

/** One range of a uid or gid mapping, as in an OCI runtime spec. */
export interface LayerIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface UnpackLayerOptions {
  /** The compressed layer blob (`images/blobs/sha256/<hex>`). */
  blobPath: string;
  mediaType: string;
  /** Created by the caller, empty; renamed into place by the caller only when this resolves. */
  destDir: string;
  /** Unpack as root of a user namespace with `idMappings` (required then), so files get the ids containers see. */
  rootless: boolean;
  idMappings?: { uidMappings: LayerIdMapping[]; gidMappings: LayerIdMapping[] };
  /** Named in errors; default: derived from blobPath. */
  digest?: string;
  /** Warnings of the unpacker (skipped device nodes, xattrs, a mislabelled compression). */
  onWarning?: (message: string) => void;
  /** The runtime executable; default: the built `devenv-runtime`. */
  runtime?: string;
  /**
   * The layer's diff_id (`sha256:…` of its uncompressed tar, from the image config). When given, the unpacker
   * fails with DIGEST_MISMATCH if the content differs (the caller deletes `destDir`, as on any failure).
   */
  expectDiffId?: string;
}

/** What the unpacker computed while unpacking, from the one decompression pass. */
export interface UnpackLayerResult {
  /** `sha256:…` of the whole uncompressed stream: the layer's diff_id. */
  diffId: string;
  /** Bytes of the uncompressed stream. */
  size: number;
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** The unpacker's `--compression` for a layer media type (Docker's plain `…rootfs.diff.tar` is accepted too). */
export function compressionForMediaType(mediaType: string): LayerCompression | undefined {
  return layerCompression(mediaType) ?? (mediaType === 'application/vnd.docker.image.rootfs.diff.tar' ? 'none' : undefined);
}

function digestOf(blobPath: string): string {
  const hex = basename(blobPath);
  return /^[0-9a-f]{64}$/.test(hex) && basename(dirname(blobPath)) === 'sha256' ? `sha256:${hex}` : blobPath;
}

interface RuntimeMessage {
  type?: string;
  code?: string;
  message?: string;
  path?: string;
}

/**
 * The error for a layer whose uncompressed content is not what the image config says (its diff_id). Layers are
 * shared by chain id, computed from the config's diff_ids: unchecked, an image could plant content under the chain
 * id of another image's layer.
 */
export function diffIdMismatch(layerDigest: string, actual: string, expected: string): DevenvError {
  return new DevenvError('DIGEST_MISMATCH', `layer ${layerDigest}: its uncompressed content has digest ${actual}, the image config says ${expected}`, {
    kind: 'external',
    hint: 'The image is inconsistent (its config names other content than its manifest); it cannot be used safely.',
  });
}

/** The `{"type":"result"}` line the unpacker prints on stdout on success. */
function parseResult(stdout: string): UnpackLayerResult | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    try {
      const msg = JSON.parse(line) as { type?: unknown; diffId?: unknown; size?: unknown };
      if (msg.type === 'result' && typeof msg.diffId === 'string' && /^sha256:[0-9a-f]{64}$/.test(msg.diffId) && Number.isSafeInteger(msg.size)) {
        return { diffId: msg.diffId, size: msg.size as number };
      }
    } catch {
      // not a message
    }
  }
  return undefined;
}

function parseLines(stderr: string): { error?: RuntimeMessage; warnings: string[]; other: string[] } {
  const warnings: string[] = [];
  const other: string[] = [];
  let error: RuntimeMessage | undefined;
  for (const line of stderr.split('\n')) {
    if (!line.trim()) continue;
    let msg: RuntimeMessage | undefined;
    try {
      msg = JSON.parse(line) as RuntimeMessage;
    } catch {
      msg = undefined;
    }
    if (msg?.type === 'error') error = msg;
    else if (msg?.type === 'warning' && typeof msg.message === 'string') warnings.push(msg.message);
    else other.push(line);
  }
  return { ...(error ? { error } : {}), warnings, other };
}

function findTool(name: string): string | undefined {
  return ['/usr/bin', '/bin', '/usr/sbin', '/usr/local/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  spawnError?: Error;
}

function run(file: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) return resolve({ code: 0, signal: null, stdout, stderr });
      const e = error as NodeJS.ErrnoException & { code?: unknown; signal?: NodeJS.Signals | null };
      if (typeof e.code === 'number') return resolve({ code: e.code, signal: null, stdout, stderr });
      if (e.signal) return resolve({ code: null, signal: e.signal, stdout, stderr });
      resolve({ code: null, signal: null, stdout, stderr, spawnError: error });
    });
  });
}

/**
 * Unpack one layer blob into `destDir` with `devenv-runtime unpack` (docs/images.md, "Native unpacker"), which
 * decompresses it once and hashes the uncompressed stream on the way: resolves with that diff_id and size. Hostile
 * or corrupt layers reject with LAYER_INVALID, content other than `expectDiffId` with DIGEST_MISMATCH, failures of
 * the host (no space, no user namespace) with RUNTIME_SETUP; whatever the failure, the caller deletes `destDir`.
 */
export async function unpackLayer(options: UnpackLayerOptions): Promise<UnpackLayerResult> {
  const digest = options.digest ?? digestOf(options.blobPath);
  const compression = compressionForMediaType(options.mediaType);
  if (!compression) {
    throw new DevenvError('LAYER_INVALID', `layer ${digest} has the media type \`${options.mediaType}\`, which is not a layer devenv can unpack`, {
      kind: 'external',
    });
  }
  if (options.rootless && !options.idMappings) {
    throw new DevenvError('INTERNAL', `unpack layer ${digest}: a rootless unpack needs id mappings`, { kind: 'bug' });
  }
  const runtime = options.runtime ?? runtimeBinary();
  const args = ['unpack', '--layer', options.blobPath, '--dest', options.destDir, '--compression', compression];
  if (options.expectDiffId !== undefined) args.push('--expect-diff-id', options.expectDiffId);
  let tmp: string | undefined;
  try {
    if (options.rootless && options.idMappings) {
      tmp = await mkdtemp(join(tmpdir(), 'devenv-unpack-'));
      const idmap = join(tmp, 'idmap.json');
      const newuidmap = findTool('newuidmap');
      const newgidmap = findTool('newgidmap');
      const body = { ...options.idMappings, ...(newuidmap ? { newuidmap } : {}), ...(newgidmap ? { newgidmap } : {}) };
      await writeFile(idmap, JSON.stringify(body), { mode: 0o600 });
      args.push('--rootless', '--idmap', idmap);
    }
    const r = await run(runtime, args);
    if (r.spawnError) throw toDevenvError(`unpack layer ${digest}: run ${runtime}`, r.spawnError);
    const { error, warnings, other } = parseLines(r.stderr);
    for (const w of warnings) options.onWarning?.(w);
    if (r.code === 0) {
      const result = parseResult(r.stdout);
      if (result) return result;
      throw new DevenvError('RUNTIME_SETUP', `unpack layer ${digest}: ${runtime} reported no diff_id (is it out of date?)`, {
        kind: 'external',
        exitCode: 125,
        hint: 'Rebuild the native part: `node scripts/build-native.js`.',
      });
    }
    const text = error?.message ?? (other.join(' ').trim() || 'no message');
    const mismatch = error?.code === 'EBADMSG' ? /expected (sha256:[0-9a-f]{64}), got (sha256:[0-9a-f]{64})/.exec(text) : null;
    if (r.code === 1 && mismatch) throw diffIdMismatch(digest, mismatch[2] as string, mismatch[1] as string);
    if (r.code === 1) {
      throw new DevenvError('LAYER_INVALID', `layer ${digest} cannot be unpacked: ${text}`, {
        kind: 'external',
        hint: 'The image is damaged or was built to attack the host; nothing was written outside its layer directory. Pull it again or ask its publisher.',
      });
    }
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
    throw new DevenvError('RUNTIME_SETUP', `unpack layer ${digest}: ${error ? text : `the runtime failed (${how}): ${text}`}`, {
      kind: 'external',
      exitCode: 125,
      ...(error?.code === 'ENOSPC' || error?.code === 'EDQUOT' ? { hint: 'Free some disk space.' } : {}),
    });
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
