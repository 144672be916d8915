import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import { withSecretAddress } from './address.js';

interface Flags extends OutputFlags {
  vaultName?: string;
  name?: string;
  id?: string;
}

export function keyvaultSecretDeleteCommand(ctx: CliContext): Command {
  return withOutputOptions(
    withSecretAddress(
      new Command('delete').description("Delete a secret of oep's local vault with all its versions (the local vault keeps no deleted secrets to recover or purge)."),
      { version: false },
    ),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const { deleteKeyvaultSecret } = await import('../../../engine/keyvault.js');
    await printData(ctx, await deleteKeyvaultSecret(flags, { home: ctx.home, cwd: ctx.cwd }), flags);
  });
}
