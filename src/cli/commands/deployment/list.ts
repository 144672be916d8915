import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';

export function deploymentListCommand(ctx: CliContext): Command {
  return withOutputOptions(
    new Command('list').description("List an endpoint's deployments.").requiredOption('-e, --endpoint-name <name>', 'endpoint name'),
  ).action(async (flags: OutputFlags & { endpointName: string }) => {
    await printData(ctx, await ctx.client.call('deployment.list', { endpoint: flags.endpointName }), flags, [
      'name',
      'endpoint_name',
      'provisioning_state',
      'instance_type',
      'type',
    ]);
  });
}
