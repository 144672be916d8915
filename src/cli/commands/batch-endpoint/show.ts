import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface BatchEndpointShowOptions extends OutputFlags {
  name: string;
}

/** Prints the batch endpoint as the daemon shows it. */
export async function runBatchEndpointShow(ctx: CliContext, options: BatchEndpointShowOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('batchEndpoint.show', { name: options.name }), options);
}

export function batchEndpointShowCommand(ctx: CliContext, run: RunCommand<BatchEndpointShowOptions> = runBatchEndpointShow): Command {
  return withOutputOptions(new Command('show').description('Show a batch endpoint.').requiredOption('-n, --name <name>', 'endpoint name')).action(
    async (flags: BatchEndpointShowOptions) => {
      await run(ctx, { name: flags.name, output: flags.output, query: flags.query });
    },
  );
}
