import { Command } from '../../commander.js';
import { confirmOrRefuse } from '../../confirm.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption } from '../../options.js';
import type { RunCommand } from '../../run-command.js';

export interface BatchDeploymentDeleteOptions {
  name: string;
  endpointName: string;
  /** --yes: do not ask. */
  yes: boolean;
}

/** Deletes the batch deployment once it is known to exist and the user has agreed. */
export async function runBatchDeploymentDelete(ctx: CliContext, options: BatchDeploymentDeleteOptions): Promise<void> {
  const target = { endpoint: options.endpointName, name: options.name };
  // Fails with "does not exist" before asking anything.
  await ctx.client.call('batchDeployment.show', target);
  await confirmOrRefuse(ctx, options.yes, `Delete deployment ${options.name} of batch endpoint ${options.endpointName}?`);
  await ctx.client.call('batchDeployment.delete', target);
}

export function batchDeploymentDeleteCommand(ctx: CliContext, run: RunCommand<BatchDeploymentDeleteOptions> = runBatchDeploymentDelete): Command {
  return new Command('delete')
    .description("Delete a batch deployment (not the endpoint's default while it has others).")
    .requiredOption('-n, --name <name>', 'deployment name')
    .requiredOption('-e, --endpoint-name <name>', 'batch endpoint name')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .addOption(immediateNoWaitOption())
    .action(async (flags: BatchDeploymentDeleteOptions) => {
      await run(ctx, { name: flags.name, endpointName: flags.endpointName, yes: flags.yes });
    });
}
