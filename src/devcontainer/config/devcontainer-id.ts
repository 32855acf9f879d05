/**
 * The `${devcontainerId}` of a project, computed exactly as the devcontainer CLI does so both tools agree on it:
 * sha256 of the id labels as JSON (keys sorted), read as one big number and written in base 32, 52 digits.
 */
import { createHash } from 'node:crypto';

/** The labels that identify a project's container (the devcontainer CLI's, so its tooling recognises ours). */
export function idLabelsFor(localFolder: string, configFile: string): Record<string, string> {
  return { 'devcontainer.local_folder': localFolder, 'devcontainer.config_file': configFile };
}

/** 52 characters of [0-9a-v]; stable across runs for the same labels, whatever their order. */
export function devcontainerId(idLabels: Record<string, string>): string {
  const sorted = JSON.stringify(idLabels, Object.keys(idLabels).sort());
  const digest = createHash('sha256').update(sorted, 'utf8').digest('hex');
  return BigInt(`0x${digest}`).toString(32).padStart(52, '0');
}
