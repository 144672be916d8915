import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface ConnectionListOptions extends OutputFlags {
  /** Only connections of this type. */
  type?: string;
}

/** Prints the connections (credentials masked). */
export async function runConnectionList(ctx: CliContext, options: ConnectionListOptions): Promise<void> {
  const { listConnectionViews } = await import('../../../engine/connections.js');
  await printData(ctx, await listConnectionViews(options.type, { home: ctx.home, cwd: ctx.cwd }), options, ['name', 'type', 'target']);
}

export function connectionListCommand(ctx: CliContext, run: RunCommand<ConnectionListOptions> = runConnectionList): Command {
  return withOutputOptions(
    new Command('list')
      .description("List the connections of oep's local workspace (credentials masked).")
      .option('--type <type>', 'only connections of this type, e.g. custom_keys or azure_open_ai'),
  ).action(async (flags: ConnectionListOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { type: flags.type, output: flags.output, query: flags.query });
  });
}
