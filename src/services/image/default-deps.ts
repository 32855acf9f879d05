import { createRegistryClient } from '../../image/registry/registry-client.js';
import { unpackLayer } from '../../image/unpack/unpack-layer.js';
import type { ImageServiceContext, PullRegistry, UnpackLayerFn } from './image-context.js';

// Loaded only by commands that talk to a registry or unpack (dynamic import from image-context.ts), so `image ls`
// and `container run` of a stored image never load the HTTP client or child_process.

/** The registry client with the user's registries.json and credentials. */
export function createDefaultRegistry(ctx: ImageServiceContext): PullRegistry {
  return createRegistryClient({ logger: ctx.logger });
}

/** The native unpacker (`devenv-runtime unpack`). */
export function defaultUnpacker(ctx: ImageServiceContext): UnpackLayerFn {
  return (options) => unpackLayer({ ...options, onWarning: (message) => ctx.logger.warn(message) });
}
