import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface BatchDeploymentShowOptions extends OutputFlags {
  name: string;
  endpointName: string;
}

/** Prints the batch deployment as the daemon shows it. */
export async function runBatchDeploymentShow(ctx: CliContext, options: BatchDeploymentShowOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('batchDeployment.show', { endpoint: options.endpointName, name: options.name }), options);
}

export function batchDeploymentShowCommand(ctx: CliContext, run: RunCommand<BatchDeploymentShowOptions> = runBatchDeploymentShow): Command {
  return withOutputOptions(
    new Command('show')
      .description('Show a batch deployment.')
      .requiredOption('-n, --name <name>', 'deployment name')
      .requiredOption('-e, --endpoint-name <name>', 'batch endpoint name'),
  ).action(async (flags: BatchDeploymentShowOptions) => {
    await run(ctx, { name: flags.name, endpointName: flags.endpointName, output: flags.output, query: flags.query });
  });
}
