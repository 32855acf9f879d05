import type { ContainerHookName, LifecycleHookName } from '../config/config-types.js';

/** The container hooks in the order the spec runs them. */
export const CONTAINER_HOOK_ORDER: readonly ContainerHookName[] = [
  'onCreateCommand',
  'updateContentCommand',
  'postCreateCommand',
  'postStartCommand',
  'postAttachCommand',
];

/** The spec's default `waitFor`. */
export const DEFAULT_WAIT_FOR: ContainerHookName = 'updateContentCommand';

/** The container hooks split at `waitFor`: `blocking` must finish before `up` reports ready, `background` may follow. */
export interface WaitForSplit {
  blocking: ContainerHookName[];
  background: ContainerHookName[];
}

/**
 * Which container hooks `up` waits for: those up to and including `waitFor` (default updateContentCommand).
 * `initializeCommand` (allowed by the spec, it runs on the host before the container exists) leaves every container
 * hook in the background.
 */
export function splitAtWaitFor(waitFor: LifecycleHookName | undefined): WaitForSplit {
  const target = waitFor ?? DEFAULT_WAIT_FOR;
  const found = CONTAINER_HOOK_ORDER.indexOf(target as ContainerHookName);
  // An unknown value (config validation should have caught it) falls back to the default rather than blocking nothing.
  const index = target === 'initializeCommand' ? -1 : found === -1 ? CONTAINER_HOOK_ORDER.indexOf(DEFAULT_WAIT_FOR) : found;
  return {
    blocking: CONTAINER_HOOK_ORDER.slice(0, index + 1),
    background: CONTAINER_HOOK_ORDER.slice(index + 1),
  };
}
