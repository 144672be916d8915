import { Command, Option } from '../../commander.js';
import type { CliContext } from '../../context.js';

export function endpointRegenerateKeysCommand(ctx: CliContext): Command {
  return new Command('regenerate-keys')
    .description('Replace a key; the old one stops working at once.')
    .requiredOption('-n, --name <name>', 'endpoint name')
    .addOption(new Option('--key-type <type>', 'which key').choices(['primary', 'secondary']).default('primary'))
    .action(async (flags: { name: string; keyType: string }) => {
      await ctx.client.call('endpoint.regenerateKeys', { name: flags.name, keyType: flags.keyType });
    });
}
