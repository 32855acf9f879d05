/** Entry of `dist/fast/up.cjs`: `devenv up` (a warm `up` must cost little more than Node's own start). */
export { upMain } from '../project/up-main.js';
