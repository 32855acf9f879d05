import { loadAddon, type NativeAddon } from '../../host/native-addon.js';
import type { XattrReader } from './upper-diff.js';

/** The addon's xattr calls (native/src/xattr.c; typed in native/index.d.ts). */
interface XattrAddon {
  getXattr(path: string, name: string): Buffer | null;
  listXattrs(path: string): string[];
}

/** Reads upper-dir xattrs through the native addon (Node has no xattr API). Throws the addon's errno errors. */
export function nativeXattrReader(): XattrReader {
  const addon = loadAddon() as NativeAddon & Partial<XattrAddon>;
  const { getXattr, listXattrs } = addon;
  if (typeof getXattr !== 'function' || typeof listXattrs !== 'function') {
    throw new Error('the native addon has no getXattr/listXattrs: rebuild it (`node scripts/build-native.js`)');
  }
  return {
    list: (path) => listXattrs(path),
    get: (path, name) => getXattr(path, name)?.toString('latin1') ?? undefined,
  };
}
