/**
 * The hot commands bin/devenv runs without oclif (see docs/architecture.md, "Start-up time"). Bundled into one
 * file (dist/fast.js) so Node compiles one module instead of dozens.
 */
export { containerExecMain } from './container-exec-main.js';
export { containerCreateMain, containerRunMain } from './container-run-main.js';
export { upMain } from './project/up-main.js';
export { projectExecMain } from './project/exec-main.js';
