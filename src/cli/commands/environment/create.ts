import { Command, Option } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

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

export interface EnvironmentCreateOptions extends OutputFlags {
  file?: string;
  /** The flags that override the file's keys, by the key of the YAML they set. */
  fields: Record<string, string | undefined>;
  set: string[];
}

/** Registers the environment version and prints it. */
export async function runEnvironmentCreate(ctx: CliContext, options: EnvironmentCreateOptions): Promise<void> {
  const { createEnvironment } = await import('../../../engine/assets.js');
  await printData(ctx, await createEnvironment({ file: options.file, fields: options.fields, set: options.set }, { home: ctx.home, cwd: ctx.cwd }), options);
}

export function environmentCreateCommand(ctx: CliContext, run: RunCommand<EnvironmentCreateOptions> = runEnvironmentCreate): Command {
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
    await run(ctx, { file: flags.file, fields, set: flags.set, output: flags.output, query: flags.query });
  });
}
