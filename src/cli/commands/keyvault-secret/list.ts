import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';

interface Flags extends OutputFlags {
  vaultName: string;
}

export function keyvaultSecretListCommand(ctx: CliContext): Command {
  return withOutputOptions(
    new Command('list')
      .description("List the secrets of one of oep's local vaults (no values).")
      .requiredOption('--vault-name <vault>', 'the vault'),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const { listKeyvaultSecrets } = await import('../../../engine/keyvault.js');
    await printData(ctx, await listKeyvaultSecrets(flags.vaultName, { home: ctx.home, cwd: ctx.cwd }), flags, ['name', 'id', 'contentType']);
  });
}
