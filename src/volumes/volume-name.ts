import { DevenvError } from '../errors.js';
import { randomHex } from '../host/random-id.js';

/** Docker's rule for local volume names. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A directory entry holds at most 255 bytes; the name is one. */
const MAX_VOLUME_NAME = 255;

export function isVolumeName(name: string): boolean {
  return VOLUME_NAME.test(name) && name.length <= MAX_VOLUME_NAME;
}

/** The name, or a usage error naming where it came from (`-v`, `--mount`, `volume create`). */
export function checkVolumeName(name: string, where = 'volume'): string {
  if (!isVolumeName(name)) {
    throw new DevenvError('USAGE', `${where}: \`${name}\` is not a valid volume name`, {
      hint: "Volume names use letters, digits, '_', '.' and '-', starting with a letter or digit; host paths must be absolute (or start with ./).",
    });
  }
  return name;
}

/** The name of a new anonymous volume: 64 random hex digits, as Docker's. */
export function newAnonymousVolumeName(): string {
  return randomHex(32);
}
