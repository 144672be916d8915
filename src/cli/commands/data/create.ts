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
  datastore?: string;
  set: string[];
}

export interface DataCreateOptions extends OutputFlags {
  file?: string;
  /** The flags that override the file's keys, by key. */
  fields: { name?: string; version?: string; path?: string; type?: string; description?: string; datastore?: string };
  set: string[];
}

/** Registers the data asset version and prints it. */
export async function runDataCreate(ctx: CliContext, options: DataCreateOptions): Promise<void> {
  const { createData } = await import('../../../engine/assets.js');
  await printData(ctx, await createData({ file: options.file, fields: options.fields, set: options.set }, { home: ctx.home, cwd: ctx.cwd }), options);
}

export function dataCreateCommand(ctx: CliContext, run: RunCommand<DataCreateOptions> = runDataCreate): Command {
  return withOutputOptions(
    new Command('create')
      .description("Register a data asset version in oep's local registry (a snapshot of its file or folder), from a YAML file or flags, as az ml data create does.")
      .option('-f, --file <file>', 'data YAML (name, version, type, path)')
      .option('-n, --name <name>', 'data asset name (overrides the file)')
      .option('-v, --version <version>', 'version (default: the next one)')
      .option('-p, --path <path>', 'the local file (uri_file) or folder (uri_folder) to register')
      .addOption(new Option('-t, --type <type>', 'data type (default uri_folder)').choices(['uri_folder', 'uri_file']))
      .option('-d, --description <text>', 'description')
      .option('--datastore <name>', 'accepted for az scripts: oep keeps the files in its local registry')
      .addOption(setOption('overrides a key of the file')),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const fields = { name: flags.name, version: flags.version, path: flags.path, type: flags.type, description: flags.description, datastore: flags.datastore };
    await run(ctx, { file: flags.file, fields, set: flags.set, output: flags.output, query: flags.query });
  });
}
