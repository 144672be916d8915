import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface BatchDeploymentListOptions extends OutputFlags {
  endpointName: string;
}

/** Prints the batch endpoint's deployments. */
export async function runBatchDeploymentList(ctx: CliContext, options: BatchDeploymentListOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('batchDeployment.list', { endpoint: options.endpointName }), options, [
    'name',
    'endpoint_name',
    'provisioning_state',
    'mini_batch_size',
    'output_action',
  ]);
}

export function batchDeploymentListCommand(ctx: CliContext, run: RunCommand<BatchDeploymentListOptions> = runBatchDeploymentList): Command {
  return withOutputOptions(
    new Command('list').description("List a batch endpoint's deployments.").requiredOption('-e, --endpoint-name <name>', 'batch endpoint name'),
  ).action(async (flags: BatchDeploymentListOptions) => {
    await run(ctx, { endpointName: flags.endpointName, output: flags.output, query: flags.query });
  });
}
