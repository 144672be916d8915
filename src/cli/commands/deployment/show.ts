import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';

export function deploymentShowCommand(ctx: CliContext): Command {
  return withOutputOptions(
    new Command('show')
      .description('Show a deployment.')
      .requiredOption('-n, --name <name>', 'deployment name')
      .requiredOption('-e, --endpoint-name <name>', 'endpoint name'),
  ).action(async (flags: OutputFlags & { name: string; endpointName: string }) => {
    await printData(ctx, await ctx.client.call('deployment.show', { endpoint: flags.endpointName, name: flags.name }), flags);
  });
}
