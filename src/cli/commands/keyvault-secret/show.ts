import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import { withSecretAddress } from './address.js';

interface Flags extends OutputFlags {
  vaultName?: string;
  name?: string;
  version?: string;
  id?: string;
}

export function keyvaultSecretShowCommand(ctx: CliContext): Command {
  return withOutputOptions(
    withSecretAddress(new Command('show').description("Show a secret of oep's local vault with its value, as az keyvault secret show does (--query value -o tsv prints the value alone)."), { version: true }),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const { showKeyvaultSecret } = await import('../../../engine/keyvault.js');
    await printData(ctx, await showKeyvaultSecret(flags, { home: ctx.home, cwd: ctx.cwd }), flags);
  });
}
