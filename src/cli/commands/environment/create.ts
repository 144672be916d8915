import { Command, Option } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';

interface Flags extends OutputFlags {
  file?: string;
  name?: string;
  version?: string;
  image?: string;
  condaFile?: string;
  buildContext?: string;
  dockerfilePath?: string;
  description?: string;
  osType?: string;
  set: string[];
}

export function environmentCreateCommand(ctx: CliContext): Command {
  return withOutputOptions(
    new Command('create')
      .description("Register an environment version in oep's local registry (image, conda file or build context, copied), as az ml environment create does.")
      .option('-f, --file <file>', 'environment YAML (name, version, image, conda_file, build)')
      .option('-n, --name <name>', 'environment name (overrides the file)')
      .option('-v, --version <version>', 'version (default: the next one)')
      .option('-i, --image <image>', 'Docker image')
      .option('-c, --conda-file <file>', 'conda environment YAML, applied on top of the image')
      .option('-b, --build-context <dir>', 'Docker build context folder')
      .option('--dockerfile-path <path>', 'Dockerfile, relative to the build context (default Dockerfile)')
      .option('-d, --description <text>', 'description')
      .addOption(new Option('--os-type <os>', 'operating system of the image').choices(['linux', 'windows']))
      .addOption(setOption('overrides a key of the file')),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const { createEnvironment } = await import('../../../engine/assets.js');
    const fields = {
      name: flags.name,
      version: flags.version,
      image: flags.image,
      conda_file: flags.condaFile,
      'build.path': flags.buildContext,
      'build.dockerfile_path': flags.dockerfilePath,
      description: flags.description,
      os_type: flags.osType,
    };
    await printData(ctx, await createEnvironment({ file: flags.file, fields, set: flags.set }, { home: ctx.home, cwd: ctx.cwd }), flags);
  });
}
