/** Entry of `dist/fast/build.cjs`: `image build`, whose cached rebuilds should cost little more than Node's start-up. */
export { imageBuildMain } from '../image-build-main.js';
