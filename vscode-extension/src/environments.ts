/** `devenv ps --json` and what the extension derives from it. Pure (no `vscode` import). */

/** One environment as `devenv ps --json` lists it (docs/devenv-up.md). */
export interface Environment {
  name: string;
  containerId: string;
  workspaceFolder: string;
  configFile: string;
  /** created | running | stopped | … */
  state: string;
  /** Human text: "Up 3 minutes", "Exited (0) …". */
  status: string;
  image: string;
  remoteUser?: string;
  remoteWorkspaceFolder?: string;
  ports: (number | string)[];
}

/** A forwarded port of an environment, as the tree shows it. */
export interface PortEntry {
  label: string;
  /** The host port, when the entry names one (for "open in browser"). */
  hostPort?: number;
}

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);

/** Parse `devenv ps --json` stdout; throws when it is not a JSON array (the caller shows the CLI's error). */
export function parseEnvironments(stdout: string): Environment[] {
  const value: unknown = JSON.parse(stdout.trim() === '' ? '[]' : stdout);
  if (!Array.isArray(value)) throw new Error('devenv ps --json did not print a list');
  return value
    .filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string')
    .map((o) => ({
      name: str(o.name),
      containerId: str(o.containerId),
      workspaceFolder: str(o.workspaceFolder),
      configFile: str(o.configFile),
      state: str(o.state, 'unknown'),
      status: str(o.status),
      image: str(o.image),
      ...(typeof o.remoteUser === 'string' ? { remoteUser: o.remoteUser } : {}),
      ...(typeof o.remoteWorkspaceFolder === 'string' ? { remoteWorkspaceFolder: o.remoteWorkspaceFolder } : {}),
      ports: Array.isArray(o.ports) ? o.ports.filter((p): p is number | string => typeof p === 'number' || typeof p === 'string') : [],
    }))
    .sort((a, b) => Number(isRunning(b)) - Number(isRunning(a)) || a.name.localeCompare(b.name));
}

export function isRunning(env: Pick<Environment, 'state'>): boolean {
  return env.state === 'running';
}

/**
 * forwardPorts entries: `3000`, `"db:5432"` (a host in the container's network), `"127.0.0.1:8080"`. The tree shows
 * each as written, with the local port where there is one.
 */
export function describePort(port: number | string): PortEntry {
  if (typeof port === 'number') return { label: `${port}`, hostPort: port };
  const m = /^(?:(.+):)?(\d+)$/.exec(port);
  if (!m) return { label: port };
  const n = Number(m[2]);
  return m[1] === undefined || m[1] === 'localhost' || m[1] === '127.0.0.1' ? { label: port, hostPort: n } : { label: port };
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

/** The environment of a local folder (its `devcontainer.local_folder`), preferring a running one. */
export function findEnvironmentForFolder(envs: readonly Environment[], folder: string): Environment | undefined {
  const want = trimSlash(folder);
  const matches = envs.filter((e) => trimSlash(e.workspaceFolder) === want);
  return matches.find(isRunning) ?? matches[0];
}

export function findEnvironmentByName(envs: readonly Environment[], name: string): Environment | undefined {
  return envs.find((e) => e.name === name) ?? envs.find((e) => e.name.toLowerCase() === name.toLowerCase());
}

/** The one-line description the tree shows next to an environment's name. */
export function describeEnvironment(env: Environment): string {
  const parts = [env.status || env.state];
  if (env.image) parts.push(env.image.replace(/^[^/]+\.[^/]+\//, '').replace(/^[^/]*:\d+\//, ''));
  return parts.join(' · ');
}
