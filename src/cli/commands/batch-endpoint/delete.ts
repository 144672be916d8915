import { Command } from '../../commander.js';
import { confirmOrRefuse } from '../../confirm.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption } from '../../options.js';
import type { RunCommand } from '../../run-command.js';

export interface BatchEndpointDeleteOptions {
  name: string;
  /** --yes: do not ask. */
  yes: boolean;
}

/** Deletes the batch endpoint and its deployments once it is known to exist and the user has agreed. */
export async function runBatchEndpointDelete(ctx: CliContext, options: BatchEndpointDeleteOptions): Promise<void> {
  const { name } = options;
  // Fails with "does not exist" before asking anything.
  await ctx.client.call('batchEndpoint.show', { name });
  await confirmOrRefuse(ctx, options.yes, `Delete batch endpoint ${name} and all its deployments?`);
  await ctx.client.call('batchEndpoint.delete', { name });
}

export function batchEndpointDeleteCommand(ctx: CliContext, run: RunCommand<BatchEndpointDeleteOptions> = runBatchEndpointDelete): Command {
  return new Command('delete')
    .description('Delete a batch endpoint and all its deployments.')
    .requiredOption('-n, --name <name>', 'endpoint name')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .addOption(immediateNoWaitOption())
    .action(async (flags: BatchEndpointDeleteOptions) => {
      await run(ctx, { name: flags.name, yes: flags.yes });
    });
}
