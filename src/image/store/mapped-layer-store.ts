import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { writeJsonAtomic } from '../../host/atomic-file.js';
import { FsLayerStore, type LayerStore, type RemoveTree, type TreeIdMappings } from './layer-store.js';
import { mappedLayerLockPath } from './store-locks.js';
import { createSha256, type ImageStorePaths } from './store-paths.js';

/**
 * One id mapping's copies of the store's layers: `images/layers-mapped/<key>/` holds `mapping.json` (the mappings,
 * so the copies can be removed rootless with them) and `<chain-hex>/diff` layers like `images/layers/`.
 */
export interface MappedLayerArea {
  /** mappedLayerKey of the mappings. */
  key: string;
  dir: string;
  /** From mapping.json; undefined when it is missing or unreadable (a crash between mkdir and its write). */
  idMappings: TreeIdMappings | undefined;
  /** The area's layers: same atomic unpack and per-layer locks as the default store, removal with the area's mapping. */
  layers: LayerStore;
}

/**
 * Copies of layers unpacked under id mappings other than the store's own (docs/images.md, "Layers under another id
 * mapping"): rootless, a layer's files carry host ids that are right for one mapping only.
 */
export interface MappedLayerStores {
  /** The area of a mapping, created with its mapping.json when missing. Hold the store lock (shared) around its use. */
  forMapping(idMappings: TreeIdMappings): MappedLayerArea;
  /** Every area on disk. */
  list(): MappedLayerArea[];
  /**
   * Remove an area that holds nothing but its mapping.json (the caller holds the store lock exclusively);
   * false when something else is still in it.
   */
  removeIfEmpty(area: MappedLayerArea): boolean;
}

const KEY = /^[0-9a-f]{16}$/;
const MAPPING_FILE = 'mapping.json';

function normalise(m: TreeIdMappings): TreeIdMappings {
  const clean = (list: TreeIdMappings['uidMappings']) => list.map(({ containerID, hostID, size }) => ({ containerID, hostID, size }));
  return { uidMappings: clean(m.uidMappings), gidMappings: clean(m.gidMappings) };
}

/** The name of a mapping's area: the first 16 hex digits of the sha256 of its normalised JSON. */
export function mappedLayerKey(idMappings: TreeIdMappings): string {
  return createSha256().update(JSON.stringify(normalise(idMappings))).digest('hex').slice(0, 16);
}

function readMapping(dir: string): TreeIdMappings | undefined {
  try {
    const value = JSON.parse(readFileSync(join(dir, MAPPING_FILE), 'utf8')) as Partial<TreeIdMappings>;
    return Array.isArray(value.uidMappings) && Array.isArray(value.gidMappings) ? normalise(value as TreeIdMappings) : undefined;
  } catch {
    return undefined;
  }
}

/** The mapped layer areas below `images/layers-mapped`, removing trees with `remover` and each area's mapping. */
export class FsMappedLayerStores implements MappedLayerStores {
  constructor(
    private readonly paths: ImageStorePaths,
    private readonly remover: RemoveTree = (dir) => rmSync(dir, { recursive: true, force: true }),
  ) {}

  forMapping(idMappings: TreeIdMappings): MappedLayerArea {
    const mappings = normalise(idMappings);
    const key = mappedLayerKey(mappings);
    const dir = join(this.paths.mappedLayers, key);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const stored = readMapping(dir);
    if (!stored || mappedLayerKey(stored) !== key) writeJsonAtomic(join(dir, MAPPING_FILE), mappings, { durable: true });
    return this.area(key, mappings);
  }

  list(): MappedLayerArea[] {
    let names: string[];
    try {
      names = readdirSync(this.paths.mappedLayers);
    } catch {
      return [];
    }
    return names.filter((name) => KEY.test(name)).map((key) => this.area(key, readMapping(join(this.paths.mappedLayers, key))));
  }

  removeIfEmpty(area: MappedLayerArea): boolean {
    let names: string[];
    try {
      names = readdirSync(area.dir);
    } catch {
      return true;
    }
    // mapping.json and a write of it killed before its rename (`mapping.json.tmp-*`) are the area's own files.
    if (names.some((name) => !name.startsWith(MAPPING_FILE))) return false;
    for (const name of names) rmSync(join(area.dir, name), { force: true });
    rmdirSync(area.dir);
    return true;
  }

  private area(key: string, idMappings: TreeIdMappings | undefined): MappedLayerArea {
    const dir = join(this.paths.mappedLayers, key);
    const remove: RemoveTree = (tree) => (idMappings ? this.remover(tree, idMappings) : this.remover(tree));
    const layers = new FsLayerStore(this.paths, remove, { dir, lockPath: (hex) => mappedLayerLockPath(this.paths, key, hex) });
    return { key, dir, idMappings, layers };
  }
}

