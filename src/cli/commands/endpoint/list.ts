import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';

export function endpointListCommand(ctx: CliContext): Command {
  return withOutputOptions(new Command('list').description('List endpoints.')).action(async (flags: OutputFlags) => {
    await printData(ctx, await ctx.client.call('endpoint.list'), flags, ['name', 'provisioning_state', 'kind', 'location']);
  });
}
