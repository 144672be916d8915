import { Command, Option } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';

export interface EndpointRegenerateKeysOptions {
  name: string;
  /** primary or secondary (commander checks the choice). */
  keyType: string;
}

/** Replaces the key. */
export async function runEndpointRegenerateKeys(ctx: CliContext, options: EndpointRegenerateKeysOptions): Promise<void> {
  await ctx.client.call('endpoint.regenerateKeys', { name: options.name, keyType: options.keyType });
}

export function endpointRegenerateKeysCommand(ctx: CliContext, run: RunCommand<EndpointRegenerateKeysOptions> = runEndpointRegenerateKeys): Command {
  return new Command('regenerate-keys')
    .description('Replace a key; the old one stops working at once.')
    .requiredOption('-n, --name <name>', 'endpoint name')
    .addOption(new Option('--key-type <type>', 'which key').choices(['primary', 'secondary']).default('primary'))
    .action(async (flags: EndpointRegenerateKeysOptions) => {
      await run(ctx, { name: flags.name, keyType: flags.keyType });
    });
}
