/**
 * The host agent a devenv client may forward into a container: $SSH_AUTH_SOCK, unless DEVENV_FORWARD_AGENT turns
 * forwarding off (`0`, `false`, `no`, `off`). Kept apart from the relay so `devenv exec` loads the relay only when
 * there is an agent (docs/ssh-agent-and-git.md). Pure.
 */
export function hostAgentSocket(env: NodeJS.ProcessEnv): string | undefined {
  if (isAgentForwardingOff(env)) return undefined;
  const sock = env.SSH_AUTH_SOCK;
  return sock ? sock : undefined;
}

/** DEVENV_FORWARD_AGENT=0 (or false, no, off): never forward an agent, not even one `ssh -A` offers. Pure. */
export function isAgentForwardingOff(env: NodeJS.ProcessEnv): boolean {
  return /^(0|false|no|off)$/i.test(env.DEVENV_FORWARD_AGENT ?? '');
}
