import { loadAddon } from '../../host/native-addon.js';
import type { XattrReader } from './upper-diff.js';

/** Reads upper-dir xattrs through the native addon (Node has no xattr API). Throws the addon's errno errors. */
export function nativeXattrReader(): XattrReader {
  const addon = loadAddon();
  return {
    list: (path) => addon.listXattrs(path),
    get: (path, name) => addon.getXattr(path, name)?.toString('latin1') ?? undefined,
  };
}
