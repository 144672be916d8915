import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';

export function endpointGetCredentialsCommand(ctx: CliContext): Command {
  return withOutputOptions(
    new Command('get-credentials').description("Print the endpoint's keys (or a token in aml_token and aad_token mode).").requiredOption('-n, --name <name>', 'endpoint name'),
  ).action(async (flags: OutputFlags & { name: string }) => {
    await printData(ctx, await ctx.client.call('endpoint.credentials', { name: flags.name }), flags);
  });
}
