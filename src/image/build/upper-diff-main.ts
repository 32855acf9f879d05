// Entry of the child process that writes a build container's upper dir as a layer tar, rootless: it is started
// under `unshare` in a user namespace with the build container's id mappings, so it can read files of every
// sub-id and sees their owners as the container did. Prints `{"digest","size","entries"}` on stdout.
import { nativeXattrReader } from './native-xattrs.js';
import { writeUpperDiffFile } from './upper-diff.js';

const [upperDir, outFile] = process.argv.slice(2);
if (!upperDir || !outFile) {
  process.stderr.write('usage: upper-diff-main UPPER_DIR OUT_FILE\n');
  process.exit(2);
}
try {
  process.stdout.write(`${JSON.stringify(writeUpperDiffFile(upperDir, outFile, nativeXattrReader()))}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
