import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';

export function endpointShowCommand(ctx: CliContext): Command {
  return withOutputOptions(
    new Command('show').description('Show an endpoint.').requiredOption('-n, --name <name>', 'endpoint name'),
  ).action(async (flags: OutputFlags & { name: string }) => {
    await printData(ctx, await ctx.client.call('endpoint.show', { name: flags.name }), flags);
  });
}
