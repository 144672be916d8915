import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface DeploymentListOptions extends OutputFlags {
  endpointName: string;
}

/** Prints the endpoint's deployments. */
export async function runDeploymentList(ctx: CliContext, options: DeploymentListOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('deployment.list', { endpoint: options.endpointName }), options, [
    'name',
    'endpoint_name',
    'provisioning_state',
    'instance_type',
    'type',
  ]);
}

export function deploymentListCommand(ctx: CliContext, run: RunCommand<DeploymentListOptions> = runDeploymentList): Command {
  return withOutputOptions(
    new Command('list').description("List an endpoint's deployments.").requiredOption('-e, --endpoint-name <name>', 'endpoint name'),
  ).action(async (flags: DeploymentListOptions) => {
    await run(ctx, { endpointName: flags.endpointName, output: flags.output, query: flags.query });
  });
}
