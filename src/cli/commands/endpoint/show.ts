import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface EndpointShowOptions extends OutputFlags {
  name: string;
}

/** Prints the endpoint as the daemon shows it. */
export async function runEndpointShow(ctx: CliContext, options: EndpointShowOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('endpoint.show', { name: options.name }), options);
}

export function endpointShowCommand(ctx: CliContext, run: RunCommand<EndpointShowOptions> = runEndpointShow): Command {
  return withOutputOptions(
    new Command('show').description('Show an endpoint.').requiredOption('-n, --name <name>', 'endpoint name'),
  ).action(async (flags: EndpointShowOptions) => {
    await run(ctx, { name: flags.name, output: flags.output, query: flags.query });
  });
}
