import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface KeyvaultSecretListOptions extends OutputFlags {
  vaultName: string;
}

/** Prints the vault's secrets without values. */
export async function runKeyvaultSecretList(ctx: CliContext, options: KeyvaultSecretListOptions): Promise<void> {
  const { listKeyvaultSecrets } = await import('../../../engine/keyvault.js');
  await printData(ctx, await listKeyvaultSecrets(options.vaultName, { home: ctx.home, cwd: ctx.cwd }), options, ['name', 'id', 'contentType']);
}

export function keyvaultSecretListCommand(ctx: CliContext, run: RunCommand<KeyvaultSecretListOptions> = runKeyvaultSecretList): Command {
  return withOutputOptions(
    new Command('list')
      .description("List the secrets of one of oep's local vaults (no values).")
      .requiredOption('--vault-name <vault>', 'the vault'),
  ).action(async (flags: KeyvaultSecretListOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { vaultName: flags.vaultName, output: flags.output, query: flags.query });
  });
}
