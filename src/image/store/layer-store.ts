import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { writeJsonAtomic } from '../../host/atomic-file.js';
import type { LayerIdMapping } from '../unpack/unpack-layer.js';
import { layerLockPath, lockFile, tryLockFile } from './store-locks.js';
import { createSha256, digestHex, type ImageStorePaths, shortDigest } from './store-paths.js';

/**
 * Chain ids as the OCI image spec defines them (config.md, "Layer ChainID"): ChainID(L0) = DiffID(L0),
 * ChainID(L0|…|Ln) = sha256(ChainID(L0|…|Ln-1) + " " + DiffID(Ln)). A chain id names a layer *with* everything
 * below it, which is what an unpacked layer depends on (whiteouts only make sense over the same parents).
 */
export function computeChainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const parent = out[out.length - 1];
    out.push(parent === undefined ? diffId : `sha256:${createSha256().update(`${parent} ${diffId}`).digest('hex')}`);
  }
  return out;
}

/** `layers/<chain>/layer.json`. */
export interface LayerRecord {
  diffId: string;
  blobDigest: string;
  /** Bytes of the unpacked files (apparent sizes), for `image ls`. */
  size: number;
  unpackedAt: string;
}

/** The uid and gid mappings a tree was unpacked with (the unpacker's `--idmap` shape). */
export interface TreeIdMappings {
  uidMappings: LayerIdMapping[];
  gidMappings: LayerIdMapping[];
}

/** Removes a directory tree of the store. Rootless, unpacked files belong to sub-ids: the service passes a remover
 * that works inside a user namespace; the default is a plain recursive rm. `idMappings`: those the tree was
 * unpacked with, when not the store's own (layers under another mapping, mapped-layers.ts). */
export type RemoveTree = (dir: string, idMappings?: TreeIdMappings) => void;

/** Where a layer store keeps its layers: `images/layers` by default, a mapping's own directory for mapped copies. */
export interface LayerStoreArea {
  /** The directory of `<chain-hex>/` layers and their `.tmp-*`/`.rm-*` siblings. */
  dir: string;
  /** The lock file of one layer (held while it is unpacked). */
  lockPath: (chainHex: string) => string;
}

/** One layer to make present. */
export interface EnsureLayerInput {
  chainId: string;
  diffId: string;
  blobDigest: string;
  /** Write the layer's files into `diffDir` (exists, empty). Throwing leaves nothing behind. */
  unpack: (diffDir: string) => Promise<void>;
}

export interface EnsureLayerOptions {
  /** Called when another command (or call) is unpacking the same layer; we wait for it and then use its work. */
  onWait?: () => void;
  lockTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Unpacked layers by chain id: `layers/<hex>/diff` is an overlay lowerdir shared by every image with that chain. */
export interface LayerStore {
  has(chainId: string): boolean;
  /** `layers/<hex>` */
  dir(chainId: string): string;
  /** `layers/<hex>/diff`, the lowerdir. */
  diffDir(chainId: string): string;
  read(chainId: string): LayerRecord | undefined;
  /** Chain ids of the complete layers. */
  list(): string[];
  /**
   * Make the layer present: unpack into `layers/<hex>.tmp-<pid>-<n>/diff`, write layer.json, rename to
   * `layers/<hex>` (atomic: an interrupted unpack leaves only a `.tmp-*` directory for repair). Under the layer's
   * lock, so two pulls unpack it once.
   */
  ensure(input: EnsureLayerInput, options?: EnsureLayerOptions): Promise<{ created: boolean; record: LayerRecord }>;
  /** Remove a layer (caller holds the store lock exclusively). Returns the bytes its files used. */
  remove(chainId: string): number;
  /** Remove any directory below `layers/` (leftovers), with the store's remover. */
  removeTree(dir: string): void;
}

let counter = 0;

/** Apparent size of the files below `dir`; unreadable parts (rootless sub-id directories) are skipped. */
export function measureTree(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    let names: string[];
    try {
      names = readdirSync(current);
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(current, name);
      try {
        const st = lstatSync(path);
        if (st.isDirectory()) stack.push(path);
        else total += st.size;
      } catch {
        // raced with a removal, or unreadable
      }
    }
  }
  return total;
}

/** The layer store on the local filesystem. */
export class FsLayerStore implements LayerStore {
  private readonly area: LayerStoreArea;

  constructor(
    paths: ImageStorePaths,
    private readonly remover: RemoveTree = (dir) => rmSync(dir, { recursive: true, force: true }),
    area?: LayerStoreArea,
  ) {
    this.area = area ?? { dir: paths.layers, lockPath: (hex) => layerLockPath(paths, hex) };
  }

  dir(chainId: string): string {
    return join(this.area.dir, digestHex(chainId));
  }

  diffDir(chainId: string): string {
    return join(this.dir(chainId), 'diff');
  }

  has(chainId: string): boolean {
    return existsSync(join(this.dir(chainId), 'layer.json'));
  }

  read(chainId: string): LayerRecord | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir(chainId), 'layer.json'), 'utf8')) as LayerRecord;
    } catch {
      return undefined;
    }
  }

  list(): string[] {
    try {
      return readdirSync(this.area.dir)
        .filter((name) => /^[0-9a-f]{64}$/.test(name) && existsSync(join(this.area.dir, name, 'layer.json')))
        .map((name) => `sha256:${name}`);
    } catch {
      return [];
    }
  }

  async ensure(input: EnsureLayerInput, options: EnsureLayerOptions = {}): Promise<{ created: boolean; record: LayerRecord }> {
    const existing = this.has(input.chainId) ? this.read(input.chainId) : undefined;
    if (existing) return { created: false, record: existing };
    const hex = digestHex(input.chainId);
    const lockPath = this.area.lockPath(hex);
    let lock = tryLockFile(lockPath);
    if (!lock) {
      options.onWait?.();
      lock = await lockFile(lockPath, {
        what: `layer ${shortDigest(input.chainId)}`,
        timeoutMs: options.lockTimeoutMs ?? 3_600_000,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
    try {
      const done = this.has(input.chainId) ? this.read(input.chainId) : undefined;
      if (done) return { created: false, record: done };
      const target = this.dir(input.chainId);
      if (existsSync(target)) this.removeAside(target); // a directory without layer.json: not ours to trust
      const tmp = join(this.area.dir, `${hex}.tmp-${process.pid}-${(counter += 1)}`);
      mkdirSync(join(tmp, 'diff'), { recursive: true, mode: 0o755 });
      try {
        await input.unpack(join(tmp, 'diff'));
        const record: LayerRecord = {
          diffId: input.diffId,
          blobDigest: input.blobDigest,
          size: measureTree(join(tmp, 'diff')),
          unpackedAt: new Date().toISOString(),
        };
        writeJsonAtomic(join(tmp, 'layer.json'), record, { durable: true });
        renameSync(tmp, target);
        return { created: true, record };
      } catch (error) {
        this.removeTree(tmp);
        throw error;
      }
    } finally {
      lock.release();
    }
  }

  remove(chainId: string): number {
    const dir = this.dir(chainId);
    if (!existsSync(dir)) return 0;
    const size = this.read(chainId)?.size ?? 0;
    this.removeAside(dir);
    return size;
  }

  removeTree(dir: string): void {
    this.remover(dir);
  }

  /** Rename first, so the layer vanishes at once and a crash mid-removal leaves a `.rm-*` directory for repair. */
  private removeAside(dir: string): void {
    const aside = `${dir}.rm-${process.pid}-${(counter += 1)}`;
    renameSync(dir, aside);
    this.removeTree(aside);
  }
}
