import { IMAGE_BUILD_ARG_SPECS, imageBuildMain } from '../../cli/image-build-main.js';
import { DockerStyleCommand, toOclifFlags } from '../../cli/docker-style-command.js';

export default class ImageBuild extends DockerStyleCommand {
  static override description = 'Build an image from a Dockerfile (no Docker or BuildKit needed)';
  static override usage = 'image build [-f Dockerfile] [-t NAME]… [--build-arg K=V]… [--target STAGE] [--no-cache] CONTEXT';
  static override examples = [
    '<%= config.bin %> image build -t my/app:dev .',
    '<%= config.bin %> image build -f docker/Dockerfile --build-arg VERSION=1.2 --target runtime -t my/app .',
  ];
  static override flags = toOclifFlags(IMAGE_BUILD_ARG_SPECS);

  protected main(argv: readonly string[]): Promise<number> {
    return imageBuildMain(argv);
  }
}
