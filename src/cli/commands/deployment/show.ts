import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface DeploymentShowOptions extends OutputFlags {
  name: string;
  endpointName: string;
}

/** Prints the deployment as the daemon shows it. */
export async function runDeploymentShow(ctx: CliContext, options: DeploymentShowOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('deployment.show', { endpoint: options.endpointName, name: options.name }), options);
}

export function deploymentShowCommand(ctx: CliContext, run: RunCommand<DeploymentShowOptions> = runDeploymentShow): Command {
  return withOutputOptions(
    new Command('show')
      .description('Show a deployment.')
      .requiredOption('-n, --name <name>', 'deployment name')
      .requiredOption('-e, --endpoint-name <name>', 'endpoint name'),
  ).action(async (flags: DeploymentShowOptions) => {
    await run(ctx, { name: flags.name, endpointName: flags.endpointName, output: flags.output, query: flags.query });
  });
}
