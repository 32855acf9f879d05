/** Types shared by the image modules (docs/images.md). */
/** `docker.io/library/debian:bookworm`, `127.0.0.1:5000/x@sha256:…` */
export interface ImageReference {
  /** "docker.io", "127.0.0.1:5000", "ghcr.io" */
  registry: string;
  /** "library/debian" */
  repository: string;
  /** "bookworm" ("latest" when neither tag nor digest is given) */
  tag?: string;
  /** "sha256:<64 hex>" */
  digest?: string;
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

/** os/architecture/variant as in image indexes. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** The parts of an OCI image config devenv uses (the whole JSON is kept in the store). */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: {
    Env?: string[];
    Cmd?: string[];
    Entrypoint?: string[];
    WorkingDir?: string;
    User?: string;
    Labels?: Record<string, string>;
    ExposedPorts?: Record<string, object>;
    StopSignal?: string;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: unknown[];
}

/** What a container needs from an image. */
export interface ResolvedImage {
  /** As normalised, e.g. "docker.io/library/debian:bookworm". */
  reference: string;
  manifestDigest: string;
  configDigest: string;
  config: ImageConfig;
  /** Unpacked layer directories, top-most first. */
  lowerdirs: string[];
}
