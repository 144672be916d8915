import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export type BatchEndpointListOptions = OutputFlags;

/** Prints the batch endpoints. */
export async function runBatchEndpointList(ctx: CliContext, options: BatchEndpointListOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('batchEndpoint.list'), options, ['name', 'provisioning_state', 'auth_mode', 'location']);
}

export function batchEndpointListCommand(ctx: CliContext, run: RunCommand<BatchEndpointListOptions> = runBatchEndpointList): Command {
  return withOutputOptions(new Command('list').description('List batch endpoints.')).action(async (flags: OutputFlags) => {
    await run(ctx, { output: flags.output, query: flags.query });
  });
}
