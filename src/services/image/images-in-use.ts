import { listRecords, type ContainerRecord } from '../../runtime/container-store.js';

/** The image part of a container record (written by `container create IMAGE`). */
export interface ContainerImageRef {
  reference: string;
  manifestDigest: string;
  chainIds: string[];
}

/** What the containers of a store use of its images. */
export interface ImageUsage {
  /** Manifest digest → names of the containers created from it. */
  manifestDigests: Map<string, string[]>;
  /** Layers containers use as lowerdirs. */
  chainIds: Set<string>;
  /** Copies under other id mappings containers use as lowerdirs: `<mapping key>/<chain hex>` (mapped-layers.ts). */
  mappedLayers?: Set<string>;
}

/** `…/images/layers-mapped/<key>/<chain hex>/diff`: a lowerdir from a mapped layer copy. */
const MAPPED_LOWERDIR = /\/layers-mapped\/([0-9a-f]{16})\/([0-9a-f]{64})\/diff\/?$/;

/** Read `containers/<id>/container.json` of every container for its `image` field. */
export function readImageUsage(root: string): ImageUsage {
  const usage: ImageUsage = { manifestDigests: new Map(), chainIds: new Set(), mappedLayers: new Set() };
  for (const record of listRecords(root) as Array<ContainerRecord & { image?: Partial<ContainerImageRef> }>) {
    const lowerdirs = (record.spec as Partial<ContainerRecord['spec']> | undefined)?.rootfs?.lowerdirs;
    for (const dir of Array.isArray(lowerdirs) ? lowerdirs : []) {
      const match = typeof dir === 'string' ? MAPPED_LOWERDIR.exec(dir) : null;
      if (match) usage.mappedLayers?.add(`${match[1]}/${match[2]}`);
    }
    const image = record.image;
    if (typeof image?.manifestDigest !== 'string') continue;
    usage.manifestDigests.set(image.manifestDigest, [...(usage.manifestDigests.get(image.manifestDigest) ?? []), record.name]);
    for (const chainId of Array.isArray(image.chainIds) ? image.chainIds : []) {
      if (typeof chainId === 'string') usage.chainIds.add(chainId);
    }
  }
  return usage;
}

/** Manifest digests of the images containers use. */
export function imagesInUse(root: string): Set<string> {
  return new Set(readImageUsage(root).manifestDigests.keys());
}
