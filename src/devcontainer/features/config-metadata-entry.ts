import type { DevContainerConfig, ImageMetadataEntry } from '../config/config-types.js';

/**
 * The devcontainer.json properties an image's `devcontainer.metadata` keeps (the spec's "metadata properties", as
 * the devcontainer CLI picks them when it labels a built image): what `up` on a config naming only that image needs
 * to give the same environment. Build-time properties (image, build, features, workspaceFolder, runArgs…) are not
 * metadata: they are already in the image or belong to one machine.
 */
const CONFIG_METADATA_PROPERTIES = [
  'onCreateCommand',
  'updateContentCommand',
  'postCreateCommand',
  'postStartCommand',
  'postAttachCommand',
  'waitFor',
  'customizations',
  'mounts',
  'containerEnv',
  'containerUser',
  'init',
  'privileged',
  'capAdd',
  'securityOpt',
  'remoteUser',
  'userEnvProbe',
  'remoteEnv',
  'overrideCommand',
  'portsAttributes',
  'otherPortsAttributes',
  'forwardPorts',
  'shutdownAction',
  'updateRemoteUserUID',
  'hostRequirements',
] as const satisfies readonly (keyof DevContainerConfig & keyof ImageMetadataEntry)[];

/** The config's own metadata entry (the last of the label), with unset properties left out. Pure. */
export function configMetadataEntry(config: DevContainerConfig): ImageMetadataEntry {
  const entry: Record<string, unknown> = {};
  for (const key of CONFIG_METADATA_PROPERTIES) {
    const value = config[key];
    if (value !== undefined && value !== null) entry[key] = value;
  }
  return entry as ImageMetadataEntry;
}
