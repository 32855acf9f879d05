import { DevenvError, type DevenvErrorCode } from '../errors.js';

/** A container that mounts a volume. */
export interface VolumeUser {
  id: string;
  name: string;
}

const VOLUME_NOT_FOUND: DevenvErrorCode = 'VOLUME_NOT_FOUND';
const VOLUME_IN_USE: DevenvErrorCode = 'VOLUME_IN_USE';

export function volumeNotFound(name: string): DevenvError {
  return new DevenvError(VOLUME_NOT_FOUND, `no such volume: \`${name}\``, { hint: 'Run `devenv volume ls` to see the volumes in this store.' });
}

/** Docker refuses to remove a volume any container (running or not) mounts; so do we, naming them. */
export function volumeInUse(name: string, users: VolumeUser[]): DevenvError {
  const names = users.map((u) => u.name);
  const plural = names.length > 1 ? 's' : '';
  return new DevenvError(VOLUME_IN_USE, `volume \`${name}\` is in use by container${plural} ${names.join(', ')}`, {
    hint:
      `Remove the container${plural} first (\`devenv container rm ${names.join(' ')}\`, or \`devenv down\` in the project ` +
      `that made ${names.length > 1 ? 'them' : 'it'}), then remove the volume.`,
  });
}
