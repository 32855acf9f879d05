/** Entry of `dist/fast/exec.cjs`: `exec` (project) and `container exec`, the hottest commands, bundled alone. */
export { containerExecMain } from '../container-exec-main.js';
export { projectExecMain } from '../project/exec-main.js';
