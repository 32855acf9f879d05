/** devenv's SSH host names: `<environment name>.devenv`, one per dev container (names as `devenv ps` shows them). */
export const SSH_HOST_SUFFIX = '.devenv';

/**
 * The SSH host alias of an environment: its name lowercased (OpenSSH lowercases host names before matching and
 * before `%h`), every character outside `[a-z0-9-_]` turned into `-`, plus `.devenv`. Pure.
 */
export function sshHostAlias(environmentName: string): string {
  const label = environmentName.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  return `${label || 'devenv'}${SSH_HOST_SUFFIX}`;
}

/** Whether `host` (as ssh passes it in `%h`) names a devenv environment. */
export function isDevenvHost(host: string): boolean {
  return host.toLowerCase().endsWith(SSH_HOST_SUFFIX) && host.length > SSH_HOST_SUFFIX.length;
}

/** The environment among `names` whose alias is `host` (case-insensitive), if any. Pure. */
export function findEnvironmentByHost<T extends { name: string }>(host: string, environments: readonly T[]): T | undefined {
  const wanted = host.toLowerCase().replace(/\.$/, '');
  return environments.find((e) => sshHostAlias(e.name) === wanted);
}
