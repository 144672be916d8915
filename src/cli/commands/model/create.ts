import { Command, Option } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

interface Flags extends OutputFlags {
  file?: string;
  name?: string;
  version?: string;
  path?: string;
  type?: string;
  description?: string;
  stage?: string;
  set: string[];
}

export interface ModelCreateOptions extends OutputFlags {
  file?: string;
  /** The flags that override the file's keys, by key. */
  fields: { name?: string; version?: string; path?: string; type?: string; description?: string; stage?: string };
  set: string[];
}

/** Registers the model version and prints it. */
export async function runModelCreate(ctx: CliContext, options: ModelCreateOptions): Promise<void> {
  const { createModel } = await import('../../../engine/assets.js');
  await printData(ctx, await createModel({ file: options.file, fields: options.fields, set: options.set }, { home: ctx.home, cwd: ctx.cwd }), options);
}

export function modelCreateCommand(ctx: CliContext, run: RunCommand<ModelCreateOptions> = runModelCreate): Command {
  return withOutputOptions(
    new Command('create')
      .description("Register a model version in oep's local registry (a snapshot of its files), from a YAML file or flags, as az ml model create does.")
      .option('-f, --file <file>', 'model YAML (name, version, path, type)')
      .option('-n, --name <name>', 'model name (overrides the file)')
      .option('-v, --version <version>', 'version (default: the next one)')
      .option('-p, --path <path>', 'the model file or folder to register')
      .addOption(new Option('-t, --type <type>', 'model type').choices(['custom_model', 'mlflow_model', 'triton_model']))
      .option('-d, --description <text>', 'description')
      .option('-s, --stage <stage>', 'stage, e.g. Development or Production')
      .addOption(setOption('overrides a key of the file')),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const fields = { name: flags.name, version: flags.version, path: flags.path, type: flags.type, description: flags.description, stage: flags.stage };
    await run(ctx, { file: flags.file, fields, set: flags.set, output: flags.output, query: flags.query });
  });
}
