/**
 * Entry of `dist/fast/run.cjs`: `container run` and `container create` without oclif (docs/architecture.md,
 * "Start-up time"). One bundle per group of hot commands, so each loads only its own code.
 */
export { containerCreateMain, containerRunMain } from '../container-run-main.js';
