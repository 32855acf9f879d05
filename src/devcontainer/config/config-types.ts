/**
 * Shapes of a devcontainer.json (the Dev Container spec's image- and Dockerfile-based configs) and of what
 * devenv derives from it. Pure data: parsing lives in parse-config.ts, substitution in substitute.ts, the merge
 * with the image's `devcontainer.metadata` label in merge-metadata.ts.
 */

/** A lifecycle command: a shell string, an argv array (no shell), or named commands run in parallel. */
export type LifecycleCommand = string | string[] | { [name: string]: string | string[] };

export const LIFECYCLE_HOOKS = [
  'initializeCommand',
  'onCreateCommand',
  'updateContentCommand',
  'postCreateCommand',
  'postStartCommand',
  'postAttachCommand',
] as const;
export type LifecycleHookName = (typeof LIFECYCLE_HOOKS)[number];

/** The hooks that run inside the container (initializeCommand runs on the host). */
export type ContainerHookName = Exclude<LifecycleHookName, 'initializeCommand'>;

/** A `mounts` entry in object form (the string form is Docker's `--mount` syntax and stays a string). */
export interface MountObject {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind) or volume name (volume); a volume without source is anonymous, named per container. */
  source?: string;
  target: string;
  readonly?: boolean;
}

export interface PortAttributes {
  label?: string;
  protocol?: 'http' | 'https';
  onAutoForward?: 'notify' | 'openBrowser' | 'openBrowserOnce' | 'openPreview' | 'silent' | 'ignore';
  requireLocalPort?: boolean;
  elevateIfNeeded?: boolean;
}

export interface HostRequirements {
  cpus?: number;
  /** Strings like "4gb", "512mb" as the spec writes them. */
  memory?: string;
  storage?: string;
  gpu?: boolean | 'optional' | { cores?: number; memory?: string };
}

export interface BuildOptions {
  dockerfile?: string;
  context?: string;
  args?: Record<string, string>;
  target?: string;
  cacheFrom?: string | string[];
  options?: string[];
}

/** devcontainer.json as written (after JSON5 parsing and validation, before substitution). */
export interface DevContainerConfig {
  name?: string;
  image?: string;
  build?: BuildOptions;
  /** Deprecated top-level spellings of build.dockerfile / build.context, still accepted. */
  dockerFile?: string;
  context?: string;
  features?: Record<string, unknown>;
  overrideFeatureInstallOrder?: string[];
  workspaceMount?: string;
  workspaceFolder?: string;
  mounts?: (string | MountObject)[];
  containerEnv?: Record<string, string>;
  remoteEnv?: Record<string, string | null>;
  containerUser?: string;
  remoteUser?: string;
  updateRemoteUserUID?: boolean;
  userEnvProbe?: 'none' | 'interactiveShell' | 'loginShell' | 'loginInteractiveShell';
  init?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  securityOpt?: string[];
  overrideCommand?: boolean;
  shutdownAction?: 'none' | 'stopContainer';
  hostRequirements?: HostRequirements;
  forwardPorts?: (number | string)[];
  appPort?: number | string | (number | string)[];
  portsAttributes?: Record<string, PortAttributes>;
  otherPortsAttributes?: PortAttributes;
  runArgs?: string[];
  waitFor?: ContainerHookName;
  customizations?: Record<string, unknown>;
  /** Recommended secrets (names the user is asked to provide); devenv only validates them. */
  secrets?: Record<string, { documentationUrl?: string }>;
  initializeCommand?: LifecycleCommand;
  onCreateCommand?: LifecycleCommand;
  updateContentCommand?: LifecycleCommand;
  postCreateCommand?: LifecycleCommand;
  postStartCommand?: LifecycleCommand;
  postAttachCommand?: LifecycleCommand;
}

/** One entry of an image's `devcontainer.metadata` label (an array of these, or a single object). */
export interface ImageMetadataEntry {
  id?: string;
  init?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  securityOpt?: string[];
  entrypoint?: string;
  mounts?: (string | MountObject)[];
  customizations?: Record<string, unknown>;
  containerEnv?: Record<string, string>;
  remoteEnv?: Record<string, string | null>;
  containerUser?: string;
  remoteUser?: string;
  updateRemoteUserUID?: boolean;
  userEnvProbe?: DevContainerConfig['userEnvProbe'];
  overrideCommand?: boolean;
  shutdownAction?: DevContainerConfig['shutdownAction'];
  forwardPorts?: (number | string)[];
  portsAttributes?: Record<string, PortAttributes>;
  otherPortsAttributes?: PortAttributes;
  hostRequirements?: HostRequirements;
  waitFor?: ContainerHookName;
  onCreateCommand?: LifecycleCommand;
  updateContentCommand?: LifecycleCommand;
  postCreateCommand?: LifecycleCommand;
  postStartCommand?: LifecycleCommand;
  postAttachCommand?: LifecycleCommand;
}

/**
 * The config after merging image metadata (spec "Merge logic"): hooks become lists run in order (image and
 * feature entries first, the config's last), booleans are or-ed, maps merged with later entries winning.
 */
export interface MergedConfig {
  init: boolean;
  privileged: boolean;
  capAdd: string[];
  securityOpt: string[];
  entrypoints: string[];
  mounts: (string | MountObject)[];
  customizations: Record<string, unknown[]>;
  containerEnv: Record<string, string>;
  remoteEnv: Record<string, string | null>;
  containerUser?: string;
  remoteUser?: string;
  updateRemoteUserUID?: boolean;
  userEnvProbe: NonNullable<DevContainerConfig['userEnvProbe']>;
  overrideCommand?: boolean;
  shutdownAction?: DevContainerConfig['shutdownAction'];
  forwardPorts: (number | string)[];
  portsAttributes: Record<string, PortAttributes>;
  otherPortsAttributes?: PortAttributes;
  hostRequirements?: HostRequirements;
  waitFor?: ContainerHookName;
  onCreateCommands: LifecycleCommand[];
  updateContentCommands: LifecycleCommand[];
  postCreateCommands: LifecycleCommand[];
  postStartCommands: LifecycleCommand[];
  postAttachCommands: LifecycleCommand[];
  /**
   * Where each entry of the `<hook>Commands` lists came from, same index: "devcontainer.json", "Feature `id`" or
   * "image metadata". Shown by the lifecycle runner when a hook has several entries.
   */
  hookOrigins?: Record<ContainerHookName, string[]>;
}
