import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export type EndpointListOptions = OutputFlags;

/** Prints the endpoints. */
export async function runEndpointList(ctx: CliContext, options: EndpointListOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('endpoint.list'), options, ['name', 'provisioning_state', 'kind', 'location']);
}

export function endpointListCommand(ctx: CliContext, run: RunCommand<EndpointListOptions> = runEndpointList): Command {
  return withOutputOptions(new Command('list').description('List endpoints.')).action(async (flags: OutputFlags) => {
    await run(ctx, { output: flags.output, query: flags.query });
  });
}
