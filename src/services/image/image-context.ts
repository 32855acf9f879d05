import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

import { openImageStore, type ImageStore, type RemoveTree } from '../../image/store/image-store.js';
import type { Descriptor, ImageReference, Platform } from '../../image/types.js';
import { computeIdMappings, parseSubIdFile, rangesForUser } from '../../runtime/idmap.js';
import type { ServiceContext } from '../service-context.js';
import { readImageUsage, type ImageUsage } from './images-in-use.js';
import { createLayerTreeRemover, type IdMappings } from './layer-tree-remover.js';

export type { IdMappings } from './layer-tree-remover.js';

/** The registry operations a pull uses (a subset of `RegistryClient`, docs/images.md). */
export interface PullRegistry {
  getManifest(ref: ImageReference, options?: { platform?: Platform }): Promise<{ descriptor: Descriptor; bytes: Buffer; indexDigest?: string }>;
  fetchBlob(
    ref: ImageReference,
    descriptor: Descriptor,
    options?: { offset?: number; signal?: AbortSignal },
  ): Promise<{ body: AsyncIterable<Uint8Array>; resumed: boolean }>;
}

/** What `unpackLayer` (src/image/unpack) takes. */
export interface UnpackLayerRequest {
  blobPath: string;
  mediaType: string;
  destDir: string;
  rootless: boolean;
  idMappings?: IdMappings;
  /** The config's diff_id for the layer: the unpack fails (DIGEST_MISMATCH) when the content differs. */
  expectDiffId?: string;
}

/** Unpacks a layer and resolves with the diff_id (`sha256:…` of the uncompressed tar) and size it computed. */
export type UnpackLayerFn = (options: UnpackLayerRequest) => Promise<{ diffId: string; size: number }>;

/** The outside world of the image services; tests pass fakes, commands take the defaults. */
export interface ImageServiceDeps {
  /** Default: `createRegistryClient` with the user's credentials and registries.json. */
  registry?: PullRegistry;
  /** Default: the native unpacker. */
  unpack?: UnpackLayerFn;
  /** Default: not running as root. */
  rootless?: boolean;
  /** Rootless id mappings for unpacking; default: those of a container (`computeIdMappings`, mode default). */
  idMappings?: IdMappings;
  /** Default: recursive rm as root, the runtime's remove-tree rootless. */
  removeTree?: RemoveTree;
  /** Default: read from the containers' records. */
  imageUsage?: () => ImageUsage;
}

/** ServiceContext plus the image services' dependencies. */
export interface ImageServiceContext extends ServiceContext {
  images?: ImageServiceDeps;
}

export function isRootless(ctx: ImageServiceContext): boolean {
  return ctx.images?.rootless ?? (process.getuid?.() ?? 0) !== 0;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The mappings rootless layers are unpacked with: a container's default ones, so files land as it will see them. */
export function unpackIdMappings(ctx: ImageServiceContext): IdMappings | undefined {
  if (ctx.images?.idMappings) return ctx.images.idMappings;
  if (!isRootless(ctx)) return undefined;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  let user = String(uid);
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry: match ranges by uid
  }
  const maps = computeIdMappings({
    mode: 'default',
    uid,
    gid,
    rootless: true,
    user,
    subuids: rangesForUser(parseSubIdFile(readText('/etc/subuid')), { name: user, uid }),
    subgids: rangesForUser(parseSubIdFile(readText('/etc/subgid')), { name: user, uid }),
  });
  return { uidMappings: maps.uid, gidMappings: maps.gid };
}

/** Removes trees of sub-id owned files (rootless) with the store's default mapping, or plainly as root. */
export function storeTreeRemover(ctx: ServiceContext, rootless: boolean): RemoveTree {
  return createLayerTreeRemover({
    rootless,
    idMappings: () => {
      try {
        return unpackIdMappings(ctx);
      } catch {
        return undefined;
      }
    },
  });
}

/** Open the image store of ctx.root (repairing it), and log what repair removed. */
export function openStoreFor(ctx: ImageServiceContext): ImageStore {
  const removeTree = ctx.images?.removeTree ?? storeTreeRemover(ctx, isRootless(ctx));
  const store = openImageStore(ctx.root, { removeTree });
  const r = store.repaired;
  const removed = r.removedLayerDirs.length + r.removedIngest.length;
  if (removed > 0) ctx.logger.debug(`image store: removed ${removed} leftovers of interrupted commands`);
  for (const d of r.droppedImages) ctx.logger.warn(`image \`${d.reference}\` was damaged (${d.reason}) and is forgotten; pull it again`);
  if (r.indexMovedAside) ctx.logger.warn(`the image index was unreadable; moved to ${r.indexMovedAside}. Pull your images again.`);
  return store;
}

export function imageUsageFor(ctx: ImageServiceContext): ImageUsage {
  return ctx.images?.imageUsage?.() ?? readImageUsage(ctx.root);
}

export async function registryFor(ctx: ImageServiceContext): Promise<PullRegistry> {
  if (ctx.images?.registry) return ctx.images.registry;
  const { createDefaultRegistry } = await import('./default-deps.js');
  return createDefaultRegistry(ctx);
}

export async function unpackerFor(ctx: ImageServiceContext): Promise<UnpackLayerFn> {
  if (ctx.images?.unpack) return ctx.images.unpack;
  const { defaultUnpacker } = await import('./default-deps.js');
  return defaultUnpacker(ctx);
}
