// The native pieces are located and loaded by src/host/native-addon.ts (locks and the image unpacker use them
// too); the runtime reaches them through this module.
export { loadAddon, nativeBuildDir, packageRoot, runtimeBinary, type NativeAddon } from '../host/native-addon.js';
