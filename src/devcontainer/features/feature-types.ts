/**
 * Shapes of Dev Container Features: a `devcontainer-feature.json`, where a Feature comes from, and a Feature once
 * resolved (content on disk, digest, options). Pure data; see docs/features.md.
 */
import type { LifecycleCommand, MountObject } from '../config/config-types.js';
import type { ImageReference } from '../../image/types.js';

/** One entry of a Feature's `options`. */
export interface FeatureOption {
  type: 'string' | 'boolean';
  default?: string | boolean;
  /** The only values allowed (strings). */
  enum?: string[];
  /** Suggested values; others are allowed. */
  proposals?: string[];
  description?: string;
}

/** What the user (or a `dependsOn`) gives a Feature: `{}`/`true`, a version string, or an options object. */
export type FeatureOptionsInput = string | boolean | Record<string, string | boolean | undefined>;

/** `devcontainer-feature.json` (the spec's properties devenv uses; others are kept in `extra`). */
export interface FeatureMetadata {
  id: string;
  version?: string;
  name?: string;
  description?: string;
  documentationURL?: string;
  options?: Record<string, FeatureOption>;
  containerEnv?: Record<string, string>;
  mounts?: (string | MountObject)[];
  capAdd?: string[];
  securityOpt?: string[];
  init?: boolean;
  privileged?: boolean;
  entrypoint?: string;
  customizations?: Record<string, unknown>;
  onCreateCommand?: LifecycleCommand;
  updateContentCommand?: LifecycleCommand;
  postCreateCommand?: LifecycleCommand;
  postStartCommand?: LifecycleCommand;
  postAttachCommand?: LifecycleCommand;
  /** Hard dependencies: Feature reference → options; installed first, pulled in automatically. */
  dependsOn?: Record<string, FeatureOptionsInput>;
  /** Soft dependencies: installed first only when they are installed anyway. */
  installsAfter?: string[];
  /** Earlier ids of a renamed Feature (for installsAfter matching). */
  legacyIds?: string[];
  deprecated?: boolean;
}

/** Where a Feature comes from, parsed from the key written in `features` (or in a `dependsOn`). */
export type FeatureSource =
  | {
      kind: 'oci';
      /** The key as written (`ghcr.io/devcontainers/features/node:1`). */
      written: string;
      ref: ImageReference;
      /** registry/repository without tag or digest: what installsAfter and overrideFeatureInstallOrder match. */
      resource: string;
      /** The last path component of the repository (`node`). */
      id: string;
    }
  | { kind: 'tarball'; written: string; url: string; id: string }
  | {
      kind: 'local';
      written: string;
      /** Absolute path of the Feature's folder. */
      path: string;
      id: string;
    };

/** A Feature with its content on disk, ready to order and install. */
export interface ResolvedFeature {
  source: FeatureSource;
  /** The folder holding devcontainer-feature.json and install.sh (cache entry or local folder). */
  dir: string;
  metadata: FeatureMetadata;
  /**
   * Content digest: the manifest digest (OCI), the sha256 of the .tgz (tarball), or a digest of the folder's files
   * (local). `sha256:<hex>`.
   */
  digest: string;
  /** The options as given (user's or dependsOn's). */
  options: FeatureOptionsInput;
  /** Option values after defaults, as installed. */
  values: Record<string, string | boolean>;
  /** How it came in: written in devcontainer.json, or pulled in by another Feature's dependsOn. */
  origin: 'user' | 'dependsOn';
}
