import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import { withSecretAddress } from './address.js';

interface Flags extends OutputFlags {
  vaultName?: string;
  name?: string;
  id?: string;
}

export function keyvaultSecretListVersionsCommand(ctx: CliContext): Command {
  return withOutputOptions(
    withSecretAddress(new Command('list-versions').description("List the versions of a secret of oep's local vault, oldest first (no values)."), { version: false }),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const { listKeyvaultSecretVersions } = await import('../../../engine/keyvault.js');
    await printData(ctx, await listKeyvaultSecretVersions(flags, { home: ctx.home, cwd: ctx.cwd }), flags, ['name', 'id']);
  });
}
