import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface ConnectionCreateOptions extends OutputFlags {
  file: string;
  name?: string;
  set: string[];
}

/** Creates (or replaces) the connection, says so when one was replaced, and prints it. */
export async function runConnectionCreate(ctx: CliContext, options: ConnectionCreateOptions): Promise<void> {
  const { createConnection } = await import('../../../engine/connections.js');
  const { view, replaced } = await createConnection({ file: options.file, name: options.name, set: options.set }, { home: ctx.home, cwd: ctx.cwd });
  if (replaced) {
    ctx.stderr.write(`notice: connection ${String(view.name)} was replaced; running deployments keep the values they were given until oep deployment update (or a daemon start)\n`);
  }
  await printData(ctx, view, options);
}

export function connectionCreateCommand(ctx: CliContext, run: RunCommand<ConnectionCreateOptions> = runConnectionCreate): Command {
  return withOutputOptions(
    new Command('create')
      .description(
        "Create (or replace) a workspace connection in oep's local workspace from Azure's connection YAML, as az ml connection create does; " +
          'deployments read it through ${{azureml://connections/<name>/...}} in environment_variables.',
      )
      .requiredOption('-f, --file <file>', 'connection YAML (name, type, target, credentials, metadata)')
      .option('-n, --name <name>', 'connection name (overrides the file)')
      .addOption(setOption('overrides a key of the file')),
  ).action(async (flags: ConnectionCreateOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { file: flags.file, name: flags.name, set: flags.set, output: flags.output, query: flags.query });
  });
}
