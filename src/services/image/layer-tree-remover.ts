import { closeSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { DevenvError } from '../../errors.js';
import type { RemoveTree } from '../../image/store/image-store.js';
import { loadAddon, runtimeBinary } from '../../runtime/native.js';
import type { OciIdMapping } from '../../runtime/oci-spec-types.js';

/** A container's (and so an unpacked layer's) uid and gid mappings. */
export interface IdMappings {
  uidMappings: OciIdMapping[];
  gidMappings: OciIdMapping[];
}

function plainRemove(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * How the image store removes unpacked trees. As root: a recursive rm. Rootless, a layer holds files of sub-ids
 * the user cannot unlink (e.g. a 0700 home directory of uid 1000 in the image); the runtime's `remove-tree`
 * removes them as root of a user namespace with the same mappings the layer was unpacked with. It reads those
 * mappings from a minimal `config.json` written into the (doomed) directory itself. A tree unpacked under another
 * mapping (a layer copy for keep-id, mapped-layers.ts) comes with that mapping, which is then used instead.
 */
export function createLayerTreeRemover(options: { rootless: boolean; idMappings: () => IdMappings | undefined }): RemoveTree {
  if (!options.rootless) return plainRemove;
  return (dir: string, treeMappings?: IdMappings) => {
    if (!existsSync(dir)) return;
    const mappings = treeMappings ?? options.idMappings();
    let runtime: string | undefined;
    try {
      runtime = runtimeBinary();
    } catch {
      runtime = undefined;
    }
    if (!mappings || !runtime) {
      plainRemove(dir);
      return;
    }
    const spec = {
      ociVersion: '1.0.2',
      linux: { namespaces: [{ type: 'user' }], uidMappings: mappings.uidMappings, gidMappings: mappings.gidMappings },
      devenv: { rootless: true, ...toolPaths() },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
    const addon = loadAddon();
    const { pid, syncFd } = addon.spawnWithSync(runtime, ['remove-tree', '--bundle', dir, dir], true);
    closeSync(syncFd);
    const code = addon.waitExit(pid);
    if (code !== 0) {
      throw new DevenvError('STORE_IO', `remove ${dir}: the runtime's remove-tree failed (exit ${code}; its error is above)`, { kind: 'external' });
    }
  };
}

function toolPaths(): { newuidmap?: string; newgidmap?: string } {
  const find = (name: string): string | undefined =>
    ['/usr/bin', '/bin', '/usr/sbin', '/usr/local/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
  const newuidmap = find('newuidmap');
  const newgidmap = find('newgidmap');
  return { ...(newuidmap ? { newuidmap } : {}), ...(newgidmap ? { newgidmap } : {}) };
}
