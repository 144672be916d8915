import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface EndpointGetCredentialsOptions extends OutputFlags {
  name: string;
}

/** Prints the endpoint's keys (or a token). */
export async function runEndpointGetCredentials(ctx: CliContext, options: EndpointGetCredentialsOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('endpoint.credentials', { name: options.name }), options);
}

export function endpointGetCredentialsCommand(ctx: CliContext, run: RunCommand<EndpointGetCredentialsOptions> = runEndpointGetCredentials): Command {
  return withOutputOptions(
    new Command('get-credentials').description("Print the endpoint's keys (or a token in aml_token and aad_token mode).").requiredOption('-n, --name <name>', 'endpoint name'),
  ).action(async (flags: EndpointGetCredentialsOptions) => {
    await run(ctx, { name: flags.name, output: flags.output, query: flags.query });
  });
}
